"""Issue 23: the train dialog and `maskwork train` resolve the same settings; the dialog scores the start model on
the corrected images it holds out (the same ones every run), keeps it when no epoch beats it, and a kept model
pre-labels the images not reviewed yet with one click."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest

from maskwork.core.cli import build_parser
from maskwork.core.cli.train_commands import config_from_args
from maskwork.core.training import project_run as train_jobs
from maskwork.core.training.datasets import held_out_names
from maskwork.core.training.schedule import expected_gain
from maskwork.gui.dialogs.train_dialog import TrainDialog
from maskwork.gui.state import AppState
from tests.gui.panels_support import make_nuclei_project, open_project

WAIT_MS = 240_000
SAME = ("epochs", "lr", "warmup_steps", "min_steps", "batch_size", "crop", "min_size", "max_size",
        "detections_per_img", "tile", "scale", "freeze_bn", "keep_start", "init", "arch", "replay", "replay_share",
        "freeze", "guard", "optimizer", "bn_stats", "calibrate_images")
START = {"semantic": "nuclei-semantic", "instance": "nuclei-instance"}


def _dialog(qtbot, tmp_path, nuclei_val, task: str, n: int = 3) -> TrainDialog:
    state = AppState()
    open_project(state, make_nuclei_project(tmp_path / "proj", nuclei_val, task, n=n))
    dlg = TrainDialog(state)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.arch.count() > 0 and dlg.start_button.isEnabled(), timeout=WAIT_MS)
    return dlg


@pytest.mark.parametrize("task", ["semantic", "instance"])
def test_the_window_and_the_cli_train_with_the_same_settings(qtbot, tmp_path, nuclei_val, isolated_config,
                                                               monkeypatch, task):
    dlg = _dialog(qtbot, tmp_path, nuclei_val, task)
    assert dlg.start_from.currentText() == START[task]
    asked = []
    monkeypatch.setattr(train_jobs, "run_training", lambda req, on_epoch, progress=None, cancel=None:
                        asked.append(req) or train_jobs.TrainOutcome(None, "", "done", 0.0, "ap", 0))
    dlg.start_button.click()
    qtbot.waitUntil(lambda: dlg.outcome is not None, timeout=WAIT_MS)
    window = train_jobs.train_config(asked[0])
    root = str(dlg.state.project.root)
    cli = config_from_args(build_parser().parse_args(["train", "--arch", window.arch, "--data", root, "--from",
                                                      START[task], "--out", str(tmp_path / "cli.pt")]))
    assert {k: getattr(window, k) for k in SAME} == {k: getattr(cli, k) for k in SAME}
    n_train = 3 - len(window.val_names)  # the CLI's steps: one pass over the images, at least min_steps
    assert window.steps_per_epoch == max(cli.min_steps, math.ceil(n_train / cli.batch_size))
    assert window.keep_start and window.freeze_bn
    corrected = train_jobs.corrected_names(dlg.state.project)
    assert window.val_names == held_out_names(corrected, dlg.val_share.value())  # chosen by the dialog
    assert window.val_names[0] in dlg.held_out.text()
    assert dlg.gain_note.text() == expected_gain(task, 3) and "Expected gain" in dlg.gain_note.text()


def test_a_fine_tune_that_does_worse_keeps_the_start_model_and_says_so(qtbot, tmp_path, nuclei_val,
                                                                       isolated_config):
    dlg = _dialog(qtbot, tmp_path, nuclei_val, "semantic")
    assert dlg.start_from.currentText() == "nuclei-semantic"
    dlg.epochs.setValue(1)
    dlg.steps.setValue(2)
    dlg.crop.setValue(128)
    dlg._schedule = replace(dlg._schedule, lr=0.5)  # an absurd rate: the model gets worse
    dlg.out_name.setText("worse")
    dlg.start_button.click()
    qtbot.waitUntil(lambda: dlg.outcome is not None, timeout=WAIT_MS)
    before, after = dlg.metric_chart.points("validation mean IoU")
    assert before[0] == 0 and after[0] == 1 and after[1] < before[1]  # epoch 0 is the start model
    assert not dlg.outcome.improved and dlg.outcome.baseline == pytest.approx(before[1])
    text = dlg.status.text()
    assert text.startswith("No epoch beat nuclei-semantic on your 1 held-out corrected image") and \
        "stays the model to use; nothing new was added" in text
    assert dlg.keep_button.isHidden() and not dlg.request.out.exists() and dlg.new_model is None


def test_pre_label_runs_the_new_model_on_the_images_not_reviewed_only(qtbot, tmp_path, nuclei_val, isolated_config):
    from maskwork.core.store.review import set_reviewed
    from maskwork.gui.panels.model_panel import ModelPanel
    from tests.gui.panels_support import make_tiny_model

    state = AppState()
    project = make_nuclei_project(tmp_path / "proj", nuclei_val, "semantic", n=3)
    open_project(state, project)
    reviewed = project.image_names()[0]
    set_reviewed(project, [reviewed])
    panel = ModelPanel(state)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.combo.count() > 0 and not panel.jobs.busy, timeout=WAIT_MS)
    dlg = TrainDialog(state)
    qtbot.addWidget(dlg)
    dlg.new_model = make_tiny_model(tmp_path, "semantic", "new-model")  # as if just kept
    dlg._update_prelabel()
    assert dlg.prelabel_button.text() == "Pre-label the 2 images not reviewed"
    dlg.prelabel_button.click()  # the panel reads its list again (a new model), then runs
    others = [n for n in project.image_names() if n != reviewed]
    qtbot.waitUntil(lambda: sorted(panel.done_names) == sorted(others) and not panel.jobs.busy, timeout=WAIT_MS)
    assert state.model_name == "new-model"
    assert all(project.annotation(n).prediction_info.model == "new-model" for n in others)
    assert project.annotation(reviewed).prediction is None


def test_a_second_run_under_a_kept_name_gets_its_own_name(qtbot, tmp_path, nuclei_val, isolated_config, monkeypatch):
    dlg = _dialog(qtbot, tmp_path, nuclei_val, "semantic")
    kept = dlg.state.project.root / ".maskwork" / "models" / "same.pt"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(b"a model kept a minute ago")
    asked = []
    monkeypatch.setattr(train_jobs, "run_training", lambda req, on_epoch, progress=None, cancel=None:
                        asked.append(req) or train_jobs.TrainOutcome(None, "", "done", 0.0, "miou", 0))
    dlg.out_name.setText("same")
    dlg.start_button.click()
    qtbot.waitUntil(lambda: dlg.outcome is not None, timeout=WAIT_MS)
    assert asked[0].name == "same-2" and dlg.out_name.text() == "same-2"
    assert kept.read_bytes() == b"a model kept a minute ago"


def test_a_kept_fine_tune_offers_the_before_after_over_the_whole_project(qtbot, tmp_path, nuclei_val,
                                                                          isolated_config):
    """Issue 22: the end of a run offers the start model against the new one on every image (the Dataset tab's
    Two models page takes the request: tests/gui/test_dataset_compare.py)."""
    state = AppState()
    open_project(state, make_nuclei_project(tmp_path / "proj", nuclei_val, "semantic", n=2))
    dlg = TrainDialog(state)
    qtbot.addWidget(dlg)
    assert not dlg.compare_button.isEnabled()  # nothing trained yet
    dlg.start_name = "nuclei-semantic"  # as after a fine-tune from the bundled model, kept as 'tuned'
    dlg._kept("tuned")
    assert dlg.compare_button.isEnabled()
    with qtbot.waitSignal(state.comparison_requested, timeout=5000) as asked:
        dlg.compare_button.click()
    assert asked.args == ["nuclei-semantic", "tuned"]
    dlg.start_name = None  # trained from scratch: nothing to compare with
    dlg._kept("scratch")
    assert not dlg.compare_button.isEnabled()
