"""Issue 12, defect 11: the train dialog starts from the model in use (else the bundled model of the
project's task) with a fine-tuning schedule, not from random weights for 10 one-batch epochs."""
from __future__ import annotations

import pytest

from maskwork.core.models.catalog.registry import get_model
from maskwork.core.training import project_run as train_jobs
from maskwork.core.training.schedule import suggest
from maskwork.gui.dialogs.train_dialog import TrainDialog
from maskwork.gui.state import AppState
from tests.gui.panels_support import make_nuclei_project, make_tiny_model, open_project

WAIT_MS = 240_000


def _dialog(qtbot, state) -> TrainDialog:
    dlg = TrainDialog(state)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.arch.count() > 0 and dlg.start_button.isEnabled(), timeout=WAIT_MS)
    return dlg


@pytest.fixture
def semantic_state(tmp_path, nuclei_val, isolated_config):
    state = AppState()
    open_project(state, make_nuclei_project(tmp_path / "proj", nuclei_val, "semantic", n=3))
    return state


def test_defaults_to_the_bundled_model_of_the_task_with_a_fine_tune_schedule(qtbot, semantic_state):
    dlg = _dialog(qtbot, semantic_state)  # no model in use yet
    assert dlg.start_from.currentText() == "nuclei-semantic"
    assert dlg.arch.currentData() == get_model("nuclei-semantic").arch
    fine = suggest("semantic", True)
    assert dlg.epochs.value() == fine.epochs and dlg.steps.value() == fine.min_steps  # 2 training images
    assert "fine-tuning" in dlg.schedule_note.text() and f"{fine.lr:g}" in dlg.schedule_note.text()
    assert "kept only if it does not fall on other images it was trained on" in dlg.schedule_note.text()  # guard set
    dlg.start_from.setCurrentIndex(0)  # scratch: a longer run at a higher learning rate
    scratch = suggest("semantic", False)
    assert "does not fall" not in dlg.schedule_note.text()
    assert dlg.epochs.value() == scratch.epochs and dlg.steps.value() == scratch.min_steps
    assert scratch.lr > fine.lr and scratch.epochs * scratch.min_steps > fine.epochs * fine.min_steps


def test_defaults_to_the_model_in_use_and_trains_with_the_shown_schedule(qtbot, semantic_state, tmp_path,
                                                                         monkeypatch):
    semantic_state.model_name = make_tiny_model(tmp_path, "semantic", "tiny-semantic")
    dlg = _dialog(qtbot, semantic_state)
    assert dlg.start_from.currentText() == "tiny-semantic"
    asked = []
    monkeypatch.setattr(train_jobs, "run_training", lambda req, on_epoch, progress=None, cancel=None:
                        asked.append(req) or train_jobs.TrainOutcome(None, "", "done", 0.0, "miou", 0))
    dlg.steps.setValue(7)
    dlg.start_button.click()
    qtbot.waitUntil(lambda: dlg.outcome is not None, timeout=WAIT_MS)
    req = asked[0]
    assert req.start_from.endswith("tiny-semantic.pt") and req.arch == "unet_small"
    assert (req.epochs, req.steps_per_epoch, req.lr) == (suggest("semantic", True).epochs, 7,
                                                         suggest("semantic", True).lr)


def test_a_model_of_another_task_is_not_the_default(qtbot, semantic_state, tmp_path):
    semantic_state.model_name = "nuclei-instance"  # in use, but this project is semantic
    dlg = _dialog(qtbot, semantic_state)
    assert dlg.start_from.currentText() == "nuclei-semantic"
