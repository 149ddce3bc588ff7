"""Model panel on a real nuclei project with tiny registered models (random weights, real code paths)."""
from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from maskwork.core.domain.annotation import Layer, Status
from maskwork.core.metrics.compare import compare_layers
from maskwork.gui.panels.iou_panel import IoUPanel
from maskwork.gui.panels.model_panel import ModelPanel
from maskwork.gui.state import AppState
from tests.gui.panels_support import make_nuclei_project, make_tiny_model, open_image, open_project

WAIT_MS = 120_000


def _panel(qtbot, state, model_name):
    panel = ModelPanel(state)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.combo.findData(model_name) >= 0, timeout=WAIT_MS)
    panel.select_model(model_name)
    return panel


@pytest.fixture
def semantic_setup(qtbot, tmp_path, nuclei_val, isolated_config):
    project = make_nuclei_project(tmp_path / "proj", nuclei_val, "semantic")
    name = make_tiny_model(tmp_path, "semantic", "tiny-semantic")
    state = AppState()
    open_project(state, project)
    open_image(state, project.image_names()[0])
    return state, project, name


@pytest.fixture
def instance_setup(qtbot, tmp_path, nuclei_val, isolated_config):
    project = make_nuclei_project(tmp_path / "proj", nuclei_val, "instance", n=1)
    name = make_tiny_model(tmp_path, "instance", "tiny-instance")
    state = AppState()
    open_project(state, project)
    open_image(state, project.image_names()[0])
    return state, project, name


def test_model_list_shows_weight_state(qtbot, semantic_setup):
    state, _project, name = semantic_setup
    panel = _panel(qtbot, state, name)
    assert panel.entries[name].state == "cached"          # our checkpoint is on disk
    assert panel.entries["maskrcnn_resnet50_fpn"].state in ("cached", "needs download")
    assert panel.combo.currentText() == "tiny-semantic"
    assert "semantic" in panel.model_info.text() and "cached" in panel.model_info.text()
    assert state.model_name == name


def test_run_on_current_image_fills_prediction_and_iou_panel_equals_core(qtbot, semantic_setup):
    state, project, name = semantic_setup
    panel = _panel(qtbot, state, name)
    iou = IoUPanel(state)
    qtbot.addWidget(iou)
    assert not iou.live.ready and "Run a model" in iou.hint.text()
    with qtbot.waitSignal(state.prediction_changed, timeout=WAIT_MS):
        panel.run_button.click()
    ann = state.annotation
    result = state.last_result
    assert np.array_equal(ann.prediction.label_map, result.label_map)
    assert ann.prediction.label_map.shape == state.image.shape[:2]
    assert ann.prediction_info.model == name and ann.prediction_info.int8 is False
    assert ann.status == Status.CORRECTED  # a corrected image stays corrected
    assert state.current_name in project.dirty
    assert "ms" in panel.latency_label.text()
    expected = compare_layers(ann.corrected, ann.prediction, project.classes.ids())
    assert iou.mean_iou == pytest.approx(expected.mean_iou)
    for class_id, value in iou.row_values().items():
        assert value == pytest.approx(expected.per_class[class_id], nan_ok=True)
    assert f"{expected.mean_iou:.3f}" in iou.mean_label.text()


def test_threshold_slider_refilters_without_forward_pass(qtbot, instance_setup, monkeypatch):
    from maskwork.core.models.predict import Predictor

    calls = []
    original = Predictor.run
    monkeypatch.setattr(Predictor, "run", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    state, _project, name = instance_setup
    panel = _panel(qtbot, state, name)
    with qtbot.waitSignal(state.prediction_changed, timeout=WAIT_MS):
        panel.run_button.click()
    result = state.last_result
    assert len(calls) == 1 and len(result) > 2, "the random model should give some detections"
    scores = np.sort(result.scores)
    values = {math.ceil(float(t) * 100) for t in (scores[len(scores) // 2], scores[-1] + 0.01, scores[0])}
    for value in sorted(values - {panel.slider.value()}, reverse=True):
        with qtbot.waitSignal(state.prediction_changed, timeout=1000):
            panel.slider.setValue(value)
        kept = result.keep(panel.slider.value() / 100)
        assert [i.score for i in state.annotation.prediction.instances] == pytest.approx(
            [float(result.scores[k]) for k in kept])
        assert state.annotation.prediction_info.score_threshold == pytest.approx(panel.slider.value() / 100)
    assert len(calls) == 1  # no new forward pass


def test_cancel_run_all_keeps_finished_images(qtbot, semantic_setup, monkeypatch):
    from maskwork.core.models.predict import Predictor

    release = threading.Event()
    calls = []
    original = Predictor.run

    def gated_run(self, *a, **k):  # the 2nd image waits until the test has pressed Cancel
        calls.append(1)
        if len(calls) >= 2:
            release.wait(30)
        return original(self, *a, **k)

    monkeypatch.setattr(Predictor, "run", gated_run)
    state, project, name = semantic_setup
    panel = _panel(qtbot, state, name)
    names = project.image_names()
    for n in names:
        project.annotation(n).prediction = None
    panel.run_all_button.click()
    qtbot.waitUntil(lambda: len(getattr(panel, "done_names", [])) == 1, timeout=WAIT_MS)
    assert panel.jobs.busy and panel.jobs.cancel_button.isEnabled()
    assert not panel.run_button.isEnabled()  # one job at a time
    with qtbot.waitSignal(state.annotations_changed, timeout=WAIT_MS) as changed:
        panel.jobs.cancel_button.click()
        release.set()
    assert changed.args[0] == names[:1]
    assert panel.done_names == names[:1]
    assert project.annotation(names[0]).prediction is not None
    assert all(project.annotation(n).prediction is None for n in names[1:])
    assert "stopped" in panel.info_label.text()
    assert panel.run_all_button.isEnabled()


def test_run_all_predicts_every_image(qtbot, semantic_setup):
    state, project, name = semantic_setup
    panel = _panel(qtbot, state, name)
    names = project.image_names()
    fresh = project.annotation(names[-1])
    fresh.corrected, fresh.status = Layer(), Status.NOT_STARTED
    with qtbot.waitSignal(state.annotations_changed, timeout=WAIT_MS) as changed:
        panel.run_all_button.click()
    assert sorted(changed.args[0]) == sorted(names)
    assert sorted(panel.done_names) == sorted(names)
    for n in names:
        ann = project.annotation(n)
        assert ann.prediction.label_map.shape == (ann.height, ann.width)
        assert ann.prediction_info.model == name
        assert n in project.dirty
    assert fresh.status == Status.PREDICTED and fresh.corrected.is_empty()
    assert [project.annotation(n).status for n in names[:-1]] == [Status.CORRECTED] * (len(names) - 1)
    assert f"{len(names)} images segmented" in panel.info_label.text()


def test_open_without_image_says_what_to_do(qtbot, isolated_config):
    state = AppState()
    panel = ModelPanel(state)
    qtbot.addWidget(panel)
    panel.run_current()
    assert "Open an image" in panel.info_label.text()


def test_panels_do_not_import_torch_on_the_gui_thread():
    """The window must open fast: torch is imported by the first Job, never while building panels."""
    import subprocess
    import sys

    code = ("import os, sys; os.environ['QT_QPA_PLATFORM']='offscreen'\n"
            "from PySide6.QtWidgets import QApplication; app = QApplication([])\n"
            "from maskwork.gui.state import AppState\n"
            "from maskwork.gui.panels.model_panel import ModelPanel\n"
            "from maskwork.gui.panels.iou_panel import IoUPanel\n"
            "from maskwork.gui.panels.dataset_panel import DatasetPanel\n"
            "from maskwork.gui.compare.window import CompareWindow\n"
            "s = AppState(); import maskwork.gui.panels.model_jobs as mj; mj.list_models = lambda **k: []\n"
            "w = [ModelPanel(s), IoUPanel(s), DatasetPanel(s), CompareWindow(s)]\n"
            "print('torch' in sys.modules, flush=True)\n"
            "from maskwork.gui.workers import pool; pool().waitForDone(); app.processEvents()\n"
            "os._exit(0)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(
        __import__("pathlib").Path(__file__).resolve().parents[2]), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_int8_switch_builds_in_a_job_then_runs_int8(qtbot, semantic_setup, tmp_path):
    state, project, _name = semantic_setup
    name = make_tiny_model(tmp_path, "semantic", "tiny-lraspp", arch="lraspp_mobilenet_v3_large")
    panel = _panel(qtbot, state, name)
    panel.int8_box.setChecked(True)
    assert state.int8 is True
    assert panel.jobs.busy, "the int8 build runs in a Job"
    qtbot.waitUntil(lambda: not panel.jobs.busy, timeout=WAIT_MS)
    assert "int8 model ready" in panel.info_label.text(), panel.jobs.last_error
    with qtbot.waitSignal(state.prediction_changed, timeout=WAIT_MS):
        panel.run_button.click()
    info = state.annotation.prediction_info
    assert info.int8 is True and info.model == name
    assert "int8" in panel.latency_label.text()
    assert state.annotation.prediction.label_map.shape == state.image.shape[:2]


def test_project_remembers_model_and_threshold(qtbot, semantic_setup):
    state, project, name = semantic_setup
    panel = _panel(qtbot, state, name)
    panel.slider.setValue(70)
    assert project.settings["score_threshold"] == pytest.approx(0.7)
    assert project.settings["model"] == name
    project.save()
    from maskwork.core.store.project import Project

    reopened = Project.open(project.root)
    panel.slider.setValue(20)
    open_project(state, reopened)
    assert panel.slider.value() == 70 and state.score_threshold == pytest.approx(0.7)
    assert panel.combo.currentData() == name


def test_missing_weights_fail_with_a_clear_message_and_the_panel_recovers(qtbot, semantic_setup, monkeypatch):
    monkeypatch.setenv("MASKWORK_OFFLINE", "1")  # no download attempt: the weights are simply not here
    state, _project, _name = semantic_setup
    panel = _panel(qtbot, state, "maskrcnn_resnet50_fpn")
    assert "needs download" in panel.model_info.text()
    panel.run_button.click()
    qtbot.waitUntil(lambda: not panel.jobs.busy and bool(panel.jobs.last_error), timeout=WAIT_MS)
    assert "maskrcnn_resnet50_fpn" in panel.jobs.last_error and "not on this computer" in panel.jobs.last_error
    assert panel.run_button.isEnabled() and state.annotation.prediction is None
