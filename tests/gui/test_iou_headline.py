"""Issue 12, defect 9 and a smaller item: the IoU headline counts unmatched objects on both sides
(panoptic quality for instances, as core.metrics computes it), and an IoU row selects its instance."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from maskwork.core.domain.annotation import Instance, Layer
from maskwork.core.domain.masks import Mask
from maskwork.core.formats.coco import load_coco
from maskwork.core.metrics import match_instances
from maskwork.gui.panels.iou_panel import IoUPanel
from maskwork.gui.state import AppState
from tests.gui.panels_support import make_nuclei_project, open_image, open_project


def _false_positive(h: int, w: int, instance_id: int) -> Instance:
    blob = cv2.circle(np.zeros((h, w), np.uint8), (4, 4), 3, 1, -1).astype(bool)
    return Instance(instance_id, 1, Mask.from_full(blob), score=0.6)


def test_an_extra_prediction_lowers_the_headline(qtbot, tmp_path, nuclei_val):
    project = make_nuclei_project(tmp_path / "p", nuclei_val, "instance", n=1)
    state = AppState()
    open_project(state, project)
    name = project.image_names()[0]
    ann = project.annotation(name)
    copies = [Instance(100 + i.id, i.class_id, i.mask, score=0.9) for i in ann.corrected.instances]
    ann.prediction = Layer(instances=copies)
    open_image(state, name)
    panel = IoUPanel(state)
    qtbot.addWidget(panel)
    assert panel.headline == ("PQ", pytest.approx(1.0))
    ann.prediction = Layer(instances=copies + [_false_positive(ann.height, ann.width, 999)])
    state.prediction_changed.emit()
    n = len(copies)
    core = match_instances([i.mask for i in ann.corrected.instances], [i.mask for i in ann.prediction.instances])
    assert panel.headline == ("PQ", pytest.approx(core.panoptic_quality))
    assert panel.headline[1] == pytest.approx(n / (n + 0.5)) and panel.headline[1] < 1.0
    text = panel.mean_label.text()
    assert f"PQ {core.panoptic_quality:.3f}" in text and f"matched {n}/{n}, extra 1" in text
    assert "panoptic quality" in panel.mean_label.toolTip() and "extra" in panel.mean_label.toolTip()


def test_clicking_an_iou_row_selects_that_instance_on_the_canvas(qtbot, window, nuclei_folder, tmp_path):
    gt = load_coco(tmp_path / "nuclei_gt.json")
    classes = gt.classes
    assert window.session.open_path(nuclei_folder, task="instance", classes=classes)
    truth = next(a for a in gt.annotations if a.file_name == window.state.current_name)
    ann = window.state.annotation
    ann.corrected = Layer(instances=[Instance(i.id, i.class_id, i.mask) for i in truth.corrected.instances])
    ann.prediction = Layer(instances=[Instance(500 + i.id, i.class_id, i.mask, score=0.8)
                                      for i in truth.corrected.instances])
    window.state.notify_edit(None)
    panel = IoUPanel(window.state)
    qtbot.addWidget(panel)
    panel.show()
    row = 2
    key = panel.live.rows()[row].key
    rect = panel.table.visualItemRect(panel.table.item(row, 0))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.editor.selected == [key]
    assert window.view.boxes.selected == {key}  # drawn as selected on the canvas
