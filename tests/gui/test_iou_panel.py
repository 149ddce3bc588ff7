"""IoU panel: follows edits of the corrected layer and always shows what core.metrics computes.

The prediction here is the real ground truth shifted by a few pixels (a plausible imperfect model
output); the corrected layer is the real ground truth, edited with core.editing like the canvas does.
"""
from __future__ import annotations

import numpy as np
import pytest

from maskwork.core import editing
from maskwork.core.domain.annotation import Instance, Layer, Status
from maskwork.core.domain.masks import Mask
from maskwork.core.metrics import tracker as tracker_module
from maskwork.core.metrics.compare import compare_layers
from maskwork.gui.panels.iou_panel import IoUPanel
from maskwork.gui.state import AppState
from tests.gui.panels_support import make_nuclei_project, open_image, open_project

SHIFT = (3, -2)  # (dy, dx) of the fake prediction


def _shifted(full: np.ndarray) -> np.ndarray:
    return np.roll(full, SHIFT, axis=(0, 1))


@pytest.fixture
def semantic_state(qtbot, tmp_path, nuclei_val):
    project = make_nuclei_project(tmp_path / "p", nuclei_val, "semantic", n=1)
    state = AppState()
    open_project(state, project)
    name = project.image_names()[0]
    ann = project.annotation(name)
    ann.prediction = Layer(label_map=_shifted(ann.corrected.label_map))
    open_image(state, name)
    panel = IoUPanel(state)
    qtbot.addWidget(panel)
    return state, panel


@pytest.fixture
def instance_state(qtbot, tmp_path, nuclei_val):
    project = make_nuclei_project(tmp_path / "p", nuclei_val, "instance", n=1)
    state = AppState()
    open_project(state, project)
    name = project.image_names()[0]
    ann = project.annotation(name)
    ann.prediction = Layer(instances=[Instance(100 + i.id, 1, Mask.from_full(_shifted(i.mask.to_full())), score=0.9)
                                      for i in ann.corrected.instances[1:]])  # the first one is "missed"
    open_image(state, name)
    panel = IoUPanel(state)
    qtbot.addWidget(panel)
    return state, panel


def _expected(state):
    ann = state.annotation
    return compare_layers(ann.corrected, ann.prediction, state.project.classes.ids())


def _assert_equal_to_core(state, panel):
    exp = _expected(state)
    assert panel.mean_iou == pytest.approx(exp.mean_iou)
    shown = panel.row_values()
    if exp.semantic is not None:
        assert shown.keys() == exp.per_class.keys()
        for c, v in exp.per_class.items():
            assert shown[c] == pytest.approx(v, nan_ok=True)
    else:
        assert shown == pytest.approx({s.gt_id: s.iou for s in exp.per_instance})
    return exp


def test_empty_states_say_what_to_do(qtbot, tmp_path, nuclei_val):
    project = make_nuclei_project(tmp_path / "p", nuclei_val, "semantic", n=1)
    state = AppState()
    panel = IoUPanel(state)
    qtbot.addWidget(panel)
    assert "Open an image" in panel.hint.text()
    open_project(state, project)
    name = project.image_names()[0]
    ann = project.annotation(name)
    open_image(state, name)
    assert "Run a model" in panel.hint.text() and panel.table.rowCount() == 0
    ann.prediction = Layer(label_map=_shifted(ann.corrected.label_map))
    ann.corrected = Layer()
    ann.status = Status.PREDICTED
    state.prediction_changed.emit()
    assert "Accept the prediction or draw a correction" in panel.hint.text()
    # accepting the prediction (an undoable whole-layer edit) gives a perfect score
    editing.replace_layer(ann.corrected, ann.prediction)
    state.notify_edit(None)
    assert panel.mean_iou == pytest.approx(1.0)
    assert panel.hint.isHidden()


def test_semantic_strokes_update_to_core_values(qtbot, semantic_state, monkeypatch):
    state, panel = semantic_state
    _assert_equal_to_core(state, panel)
    sizes = []
    real = tracker_module.confusion_matrix
    monkeypatch.setattr(tracker_module, "confusion_matrix",
                        lambda g, p, *a, **k: sizes.append(g.size) or real(g, p, *a, **k))
    layer = state.annotation.corrected
    h, w = layer.label_map.shape
    before = panel.mean_iou
    strokes = [lambda: editing.brush_segment(layer, (10, 10), (w - 20, h // 2), 6, 1),
               lambda: editing.erase_segment(layer, (w // 2, 5), (w // 2, h - 5), 4),
               lambda: editing.brush_segment(layer, (0, h - 1), (5, h - 1), 2, 1)]
    edits = []
    for stroke in strokes:  # each stroke is applied, then announced, as the canvas does
        edit = stroke()
        edits.append(edit)
        state.notify_edit(edit.bbox)
        _assert_equal_to_core(state, panel)
        x0, y0, x1, y1 = edit.bbox
        assert max(sizes) <= (x1 - x0) * (y1 - y0), "the tracker must only count the edited window"
        sizes.clear()
    assert panel.mean_iou != pytest.approx(before)
    for edit in reversed(edits):  # undo brings the original numbers back
        edit.undo(layer)
        state.notify_edit(edit.bbox)
        _assert_equal_to_core(state, panel)
    assert panel.mean_iou == pytest.approx(before)


def test_instance_edit_recomputes_only_the_edited_row(qtbot, instance_state, monkeypatch):
    import maskwork.core.metrics.live_iou as live_module

    state, panel = instance_state
    exp = _assert_equal_to_core(state, panel)
    assert exp.per_instance[0].iou == 0.0 and "missed" in panel.table.item(0, 2).text()
    rows = []
    real = live_module.iou_matrix
    monkeypatch.setattr(live_module, "iou_matrix", lambda g, p: rows.append(len(g)) or real(g, p))
    layer = state.annotation.corrected
    target = layer.instances[2]
    x, y, bw, bh = target.mask.bbox
    edit = editing.instance_segment(layer, target.id, (x, y), (x + bw, y + bh), 3)
    state.notify_edit(edit.bbox)
    assert rows == [1], "only the edited instance's IoU row is recomputed"
    _assert_equal_to_core(state, panel)
    delete = editing.delete_instances(layer, [layer.instances[1].id])
    state.notify_edit(delete.bbox)
    _assert_equal_to_core(state, panel)
    assert panel.table.rowCount() == len(layer.instances)
    delete.undo(layer)
    edit.undo(layer)
    state.notify_edit(None)
    assert _assert_equal_to_core(state, panel).mean_iou == pytest.approx(exp.mean_iou)


def test_switching_image_rebuilds(qtbot, tmp_path, nuclei_val):
    project = make_nuclei_project(tmp_path / "p", nuclei_val, "semantic", n=2)
    state = AppState()
    open_project(state, project)
    a, b = project.image_names()
    project.annotation(a).prediction = Layer(label_map=_shifted(project.annotation(a).corrected.label_map))
    panel = IoUPanel(state)
    qtbot.addWidget(panel)
    open_image(state, a)
    _assert_equal_to_core(state, panel)
    open_image(state, b)
    assert "Run a model" in panel.hint.text()


def test_prediction_of_another_size_gives_a_message(qtbot, semantic_state):
    state, panel = semantic_state
    ann = state.annotation
    ann.prediction = Layer(label_map=ann.corrected.label_map[:-5].copy())
    state.prediction_changed.emit()
    assert "differ in size" in panel.hint.text() and panel.table.rowCount() == 0
