"""Dataset table: per-image IoU of real corrected nuclei images vs predictions, sortable, click to open."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from maskwork.core.domain.annotation import Instance, Layer, Status
from maskwork.core.domain.masks import Mask
from maskwork.core.metrics.compare import compare_layers
from maskwork.gui.panels.dataset_panel import DatasetPanel
from maskwork.gui.state import AppState
from tests.gui.panels_support import make_nuclei_project, open_project

SHIFTS = [6, 1, 3]  # px; a larger shift gives a worse prediction, so the rows have distinct IoUs


def _predict_by_shifting(project, task):
    """Give each image but the last a 'prediction': its truth shifted (the last stays unpredicted)."""
    names = project.image_names()
    for name, shift in zip(names, SHIFTS):
        ann = project.annotation(name)
        if task == "semantic":
            ann.prediction = Layer(label_map=np.roll(ann.corrected.label_map, shift, axis=1))
        else:
            moved = [Mask.from_full(np.roll(i.mask.to_full(), shift, 1)) for i in ann.corrected.instances[:-1]]
            ann.prediction = Layer(instances=[Instance(i.id, i.class_id, m, 0.9)
                                              for i, m in zip(ann.corrected.instances, moved)])
    extra = project.annotation(names[-1])
    extra.prediction = None
    return names[: len(SHIFTS)], names[-1]


@pytest.mark.parametrize("task", ["semantic", "instance"])
def test_table_matches_core_sorts_and_opens(qtbot, tmp_path, nuclei_val, task):
    project = make_nuclei_project(tmp_path / "p", nuclei_val, task, n=len(SHIFTS) + 1)
    scored, unpredicted = _predict_by_shifting(project, task)
    state = AppState()
    open_project(state, project)
    panel = DatasetPanel(state)
    qtbot.addWidget(panel)
    panel.resize(700, 400)
    panel.show()
    with qtbot.waitSignal(panel.jobs.busy_changed, timeout=60_000, check_params_cb=lambda busy: not busy):
        panel.refresh_button.click()

    expected = {n: compare_layers(project.annotation(n).corrected, project.annotation(n).prediction,
                                  project.classes.ids()) for n in scored}
    assert sorted(panel.row_names()) == sorted(scored) and unpredicted not in panel.row_names()
    assert panel.row_names() == sorted(scored, key=lambda n: expected[n].mean_iou)  # worst first
    model = panel.model
    for r, score in enumerate(model.scores):
        assert score.mean_iou == pytest.approx(expected[score.name].mean_iou)
        if task == "semantic":
            assert [model.headerData(c, Qt.Horizontal) for c in (2, 3)] == ["background", "nucleus"]
            for c in (0, 1):
                assert model.value(r, 2 + c) == pytest.approx(expected[score.name].per_class[c])
        else:
            m = expected[score.name].instances
            assert (score.matched, score.missed, score.extra) == (m.tp, len(m.unmatched_gt), len(m.unmatched_pred))
            assert score.missed >= 1  # the dropped last instance
    assert "1 without prediction" in panel.summary.text()

    panel.table.sortByColumn(1, Qt.DescendingOrder)
    best_first = panel.row_names()
    assert best_first == sorted(scored, key=lambda n: -expected[n].mean_iou)

    index = panel.proxy.index(0, 1)
    with qtbot.waitSignal(state.open_requested, timeout=1000) as blocker:
        qtbot.mouseClick(panel.table.viewport(), Qt.LeftButton, pos=panel.table.visualRect(index).center())
    assert blocker.args == [best_first[0]]


def test_empty_project_says_what_to_do(qtbot, tmp_path, nuclei_val):
    project = make_nuclei_project(tmp_path / "p", nuclei_val, "semantic", n=1)
    for n in project.image_names():
        project.annotation(n).status = Status.PREDICTED
    state = AppState()
    open_project(state, project)
    panel = DatasetPanel(state)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.jobs.busy_changed, timeout=60_000, check_params_cb=lambda busy: not busy):
        panel.refresh_button.click()
    assert panel.model.rowCount() == 0
    assert "run a model" in panel.summary.text()


def test_an_image_that_cannot_be_compared_is_reported_not_fatal(qtbot, tmp_path, nuclei_val):
    project = make_nuclei_project(tmp_path / "p", nuclei_val, "semantic", n=2)
    a, b = project.image_names()
    for name in (a, b):
        ann = project.annotation(name)
        ann.prediction = Layer(label_map=np.roll(ann.corrected.label_map, 2, axis=0))
    project.annotation(b).prediction = Layer(label_map=project.annotation(b).corrected.label_map[:-3].copy())
    state = AppState()
    open_project(state, project)
    panel = DatasetPanel(state)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.jobs.busy_changed, timeout=60_000, check_params_cb=lambda busy: not busy):
        panel.refresh_button.click()
    assert panel.row_names() == [a]
    assert "1 could not be compared" in panel.summary.text() and b in panel.summary.text()


def test_an_image_too_large_to_open_is_left_out(qtbot, tmp_path, nuclei_val):
    """A 30000 x 30000 PNG in the folder: its size is refused from the header (issue 9); the table
    scores the other images instead of stopping on it."""
    from tests.unit.test_hostile_input import _bomb_png

    folder = tmp_path / "p"
    folder.mkdir()
    _bomb_png(folder / "bomb.png")
    project = make_nuclei_project(folder, nuclei_val, "semantic", n=2)
    names = [n for n in project.image_names() if n != "bomb.png"]
    assert len(project.image_names()) == 3
    for name in names:
        ann = project.annotation(name)
        ann.prediction = Layer(label_map=ann.corrected.label_map.copy())
    state = AppState()
    open_project(state, project)
    panel = DatasetPanel(state)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.jobs.busy_changed, timeout=60_000, check_params_cb=lambda busy: not busy):
        panel.refresh_button.click()
    assert sorted(panel.row_names()) == sorted(names)
