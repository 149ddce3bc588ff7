"""Issue 18, section 3: the train dialog starts from a model that knows the project's classes (a person
project started from nuclei-instance and scored mask AP 0.000 after 4 minutes), or says that none does and
what to expect; a cancelled run adds nothing to the models unless the user keeps it."""
from __future__ import annotations

import pytest

from maskwork.core.domain.errors import ModelError
from maskwork.core.models.catalog.registry import get_model
from maskwork.gui.dialogs.train_dialog import TrainDialog
from maskwork.gui.state import AppState
from tests.gui.panels_support import make_nuclei_project, open_project

WAIT_MS = 240_000
ARCH = "unet_small"  # the lightest architecture: an epoch takes seconds on a CPU


def _dialog(qtbot, state) -> TrainDialog:
    dlg = TrainDialog(state)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.arch.count() > 0 and dlg.start_button.isEnabled(), timeout=WAIT_MS)
    return dlg


def _project_of(tmp_path, nuclei_val, task: str, class_name: str):
    """Real nuclei images whose objects the project calls `class_name` (a project of another kind)."""
    project = make_nuclei_project(tmp_path / "proj", nuclei_val, task, n=3)
    project.classes.rename(1, class_name)
    state = AppState()
    open_project(state, project)
    return state


def test_a_person_project_starts_from_a_model_that_knows_person(qtbot, tmp_path, nuclei_val, isolated_config):
    state = _project_of(tmp_path, nuclei_val, "instance", "person")
    state.model_name = "nuclei-instance"  # in use, but it knows nuclei, not people
    dlg = _dialog(qtbot, state)
    start = dlg.start_from.currentText()
    assert start != "nuclei-instance" and "person" in get_model(start).classes.names()
    assert dlg.start_note.text() == f"{start} knows person: training fine-tunes it."
    dlg.start_from.setCurrentIndex(dlg.start_from.findText("nuclei-instance"))  # the user insists: warned
    assert "knows none of person" in dlg.start_note.text() and "Expect scores near 0" in dlg.start_note.text()


def test_no_model_knows_the_classes_scratch_with_what_to_expect(qtbot, tmp_path, nuclei_val, isolated_config):
    state = _project_of(tmp_path, nuclei_val, "semantic", "widget")
    dlg = _dialog(qtbot, state)
    assert dlg.start_from.currentData() is None  # scratch, not nuclei-semantic
    assert dlg.start_note.text().startswith("No model here knows widget: training starts from random weights.")
    assert "Suggested for from random weights" in dlg.schedule_note.text()


def _cancel_after_one_epoch(qtbot, dlg, name: str) -> None:
    dlg.start_from.setCurrentIndex(0)
    dlg.arch.setCurrentIndex(dlg.arch.findData(ARCH))
    dlg.epochs.setValue(50)
    dlg.steps.setValue(2)
    dlg.crop.setValue(128)
    dlg.out_name.setText(name)
    dlg.start_button.click()
    qtbot.waitUntil(lambda: len(dlg.epochs_seen) >= 1, timeout=WAIT_MS)
    with qtbot.waitSignal(dlg.jobs.busy_changed, timeout=WAIT_MS):
        dlg.jobs.cancel_button.click()


def test_a_cancelled_run_is_added_only_when_kept(qtbot, tmp_path, nuclei_val, isolated_config):
    state = _project_of(tmp_path, nuclei_val, "semantic", "nucleus")
    dlg = _dialog(qtbot, state)
    _cancel_after_one_epoch(qtbot, dlg, "cancelled-run")
    checkpoint = dlg.request.out
    assert checkpoint.is_file() and "keep it as model 'cancelled-run', or discard it" in dlg.status.text()
    with pytest.raises(ModelError):
        get_model("cancelled-run")  # not silently in the model list
    assert dlg.keep_button.isVisible() and dlg.discard_button.isVisible() and not dlg.switch_button.isEnabled()
    dlg.discard_button.click()
    assert not checkpoint.exists() and not checkpoint.with_suffix(".last.pt").exists()
    assert "nothing was added" in dlg.status.text() and not dlg.keep_button.isVisible()
    with pytest.raises(ModelError):
        get_model("cancelled-run")
    _cancel_after_one_epoch(qtbot, dlg, "kept-run")
    dlg.keep_button.click()
    qtbot.waitUntil(lambda: dlg.switch_button.isEnabled(), timeout=WAIT_MS)
    assert get_model("kept-run").arch == ARCH and dlg.status.text() == "Kept as model 'kept-run'."
