"""Issue 12, defect 10: exporting corrections writes only the images with corrections by default (an
image written without objects reads "no objects here"), in the GUI and the CLI; importing into a
brand-new project does not ask "Replace corrected work?" (there is none)."""
from __future__ import annotations

import json

from PySide6.QtWidgets import QMessageBox

from maskwork.core.cli import run
from maskwork.gui.dialogs import messages
from maskwork.gui.dialogs.export_dialog import ExportDialog
from tests.gui.window_helpers import aerial_classes, stroke, view_pos, wait_job


def _open_with_one_corrected(qtbot, window, aerial_folder, aerial_dir):
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    stroke(qtbot, window, [view_pos(window, 40, 40), view_pos(window, 90, 70)])  # image 1 corrected, image 2 not
    return window.state.project


def test_export_dialog_defaults_to_corrected_images_for_the_corrected_layer(qtbot, window, aerial_folder,
                                                                              aerial_dir):
    project = _open_with_one_corrected(qtbot, window, aerial_folder, aerial_dir)
    dialog = ExportDialog(project, 0, window)
    qtbot.addWidget(dialog)
    assert dialog.layer.currentData() == "corrected" and dialog.only_corrected()
    dialog.layer.setCurrentIndex(dialog.layer.findData("prediction"))
    assert not dialog.only_corrected()  # predictions exist for every image the model ran on
    dialog.layer.setCurrentIndex(dialog.layer.findData("corrected"))
    assert dialog.only_corrected()


def test_gui_export_writes_only_corrected_images_unless_asked(qtbot, window, aerial_folder, aerial_dir, tmp_path):
    project = _open_with_one_corrected(qtbot, window, aerial_folder, aerial_dir)
    corrected = window.state.current_name
    said = []
    window.state.status_message.connect(said.append)
    out = tmp_path / "corrected.json"
    wait_job(qtbot, window.files.export("coco-rle", out))
    assert [i["file_name"] for i in json.loads(out.read_text())["images"]] == [corrected]
    assert any("1 image without corrections left out" in s for s in said), said
    every = tmp_path / "every.json"
    wait_job(qtbot, window.files.export("coco-rle", every, only_corrected=False))
    assert sorted(i["file_name"] for i in json.loads(every.read_text())["images"]) == project.image_names()


def test_cli_export_writes_only_corrected_images_unless_all_images(qtbot, window, aerial_folder, aerial_dir,
                                                                   tmp_path, capsys):
    project = _open_with_one_corrected(qtbot, window, aerial_folder, aerial_dir)
    corrected = window.state.current_name
    assert window.session.save()
    project.close()
    window.state.project = None
    out = tmp_path / "cli.json"
    assert run(["export", str(aerial_folder), str(out)]) == 0
    assert [i["file_name"] for i in json.loads(out.read_text())["images"]] == [corrected]
    assert "1 image without corrections not written" in capsys.readouterr().out
    assert run(["export", str(aerial_folder), str(out), "--all-images"]) == 0
    assert len(json.loads(out.read_text())["images"]) == 2


def test_import_into_a_new_project_does_not_ask_to_replace(qtbot, window, nuclei_folder, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from maskwork.core.io.coco import load_coco

    gt = tmp_path / "nuclei_gt.json"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(gt), "COCO (*.json)"))
    jobs = []
    real_import = window.files.import_
    monkeypatch.setattr(window.files, "import_", lambda *a, **k: jobs.append(real_import(*a, **k)) or jobs[-1])
    assert window.session.open_path(nuclei_folder, task="instance", classes=load_coco(gt).classes)
    assert not window.state.project.has_store
    window.files.import_coco_dialog()  # no_modal_dialogs fails the test if it asks
    wait_job(qtbot, jobs[0])
    assert not window.state.annotation.corrected.is_empty()
    asked, errors = [], []
    monkeypatch.setattr(messages, "show_error", lambda parent, err, title="": errors.append(str(err)))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    window.files.import_coco_dialog()  # now there is corrected work: it asks
    assert asked and "Replace corrected work" in asked[0]
    qtbot.waitUntil(lambda: jobs[1].outcome is not None, timeout=30000)
    assert jobs[1].outcome[0] == "failed" and "already have corrected work" in errors[0]  # "No" keeps the work
