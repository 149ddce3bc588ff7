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

    from maskwork.core.formats.coco import load_coco

    gt = tmp_path / "nuclei_gt.json"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(gt), "COCO (*.json)"))
    jobs = []
    real_import = window.files.import_
    monkeypatch.setattr(window.files, "import_", lambda *a, **k: jobs.append(real_import(*a, **k)) or jobs[-1])
    assert window.session.open_path(nuclei_folder, task="instance", classes=load_coco(gt).classes)
    assert not window.state.project.has_store
    window.files.import_dialog("coco")  # no_modal_dialogs fails the test if it asks
    wait_job(qtbot, jobs[0])
    assert not window.state.annotation.corrected.is_empty()
    asked, errors = [], []
    monkeypatch.setattr(messages, "show_error", lambda parent, err, title="": errors.append(str(err)))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    before = {n: [i.mask for i in window.state.project.annotation(n).corrected.instances]
              for n in window.state.project.image_names()}
    window.files.import_dialog("coco")  # now the import would replace corrected work: it asks, naming the images
    qtbot.waitUntil(lambda: jobs[1].outcome is not None, timeout=30000)
    assert len(asked) == 1 and "would replace the corrected work of" in asked[0]
    assert window.state.project.image_names()[0] in asked[0]
    assert errors == [] and len(jobs) == 2  # "No": no error, no second import, the work unchanged
    assert before == {n: [i.mask for i in window.state.project.annotation(n).corrected.instances]
                      for n in window.state.project.image_names()}


def test_import_asks_only_when_it_would_replace_work_and_yes_replaces(qtbot, window, nuclei_folder, tmp_path,
                                                                      monkeypatch):
    """Corrected work on image 0: importing annotations of the other images does not ask (nothing of the
    user's is touched); importing image 0's asks, naming it, and Yes replaces it with the file's objects."""
    from PySide6.QtWidgets import QFileDialog

    from maskwork.core.formats.coco import load_coco

    gt = tmp_path / "nuclei_gt.json"
    doc = json.loads(gt.read_text())
    assert window.session.open_path(nuclei_folder, task="instance", classes=load_coco(gt).classes)
    project = window.state.project
    first = project.image_names()[0]
    first_id = next(i["id"] for i in doc["images"] if i["file_name"] == first)
    own, others = tmp_path / "own.json", tmp_path / "others.json"
    for path, pick in ((own, lambda i: i == first_id), (others, lambda i: i != first_id)):
        path.write_text(json.dumps({**doc, "images": [i for i in doc["images"] if pick(i["id"])],
                                    "annotations": [a for a in doc["annotations"] if pick(a["image_id"])]}))
    window.files.import_("coco", own)  # the user's corrected work on image 0 (as if drawn by hand)
    qtbot.waitUntil(lambda: not project.annotation(first).corrected.is_empty(), timeout=30000)
    mine = load_coco(gt)
    jobs, asked = [], []
    real_import = window.files.import_
    monkeypatch.setattr(window.files, "import_", lambda *a, **k: jobs.append(real_import(*a, **k)) or jobs[-1])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(others), "COCO (*.json)"))
    window.files.import_dialog("coco")
    qtbot.waitUntil(lambda: jobs and jobs[0].outcome is not None, timeout=30000)
    assert asked == [] and jobs[0].outcome[0] == "finished"  # only images without the user's work: no question

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(gt), "COCO (*.json)"))
    window.files.import_dialog("coco")
    qtbot.waitUntil(lambda: len(jobs) == 3 and jobs[2].outcome is not None, timeout=30000)
    assert len(asked) == 1 and first in asked[0]  # asked once, naming the image; Yes imported again
    truth = next(a for a in mine.annotations if a.file_name == first)
    assert [i.mask for i in project.annotation(first).corrected.instances] == \
        [i.mask for i in truth.corrected.instances]


def test_an_import_forgets_only_the_replaced_images_locks_and_undo_steps(qtbot, window, nuclei_folder, tmp_path):
    """Importing image 0's objects again: its object locks go (the ids name other objects now) and so does its
    undo history; image 1's unsaved edit keeps its undo step and its lock."""
    from maskwork.core.formats.coco import load_coco

    gt = tmp_path / "nuclei_gt.json"
    doc = json.loads(gt.read_text())
    assert window.session.open_path(nuclei_folder, task="instance", classes=load_coco(gt).classes)
    project, flags = window.state.project, window.state.flags
    first, second = project.image_names()[:2]
    first_id = next(i["id"] for i in doc["images"] if i["file_name"] == first)
    own = tmp_path / "own.json"
    own.write_text(json.dumps({**doc, "images": [i for i in doc["images"] if i["id"] == first_id],
                               "annotations": [a for a in doc["annotations"] if a["image_id"] == first_id]}))
    wait_job(qtbot, window.files.import_("coco", own))
    window.session.open_image(first)
    flags.set_locked(project.annotation(first).corrected.instances[0].id, True)
    window.session.open_image(second)
    stroke(qtbot, window, [view_pos(window, 10, 10), view_pos(window, 30, 12)])  # unsaved work on image 1
    flags.set_locked(project.annotation(second).corrected.instances[0].id, True)
    undo = window.editor.undo
    assert not undo.is_clean(second) and flags.locked_ids(first) and flags.locked_ids(second)

    wait_job(qtbot, window.files.import_("coco", own, overwrite=True))
    assert flags.locked_ids(first) == set()                   # replaced objects: no stale lock
    assert flags.locked_ids(second) and not undo.is_clean(second)  # untouched image: lock and undo kept
    assert first not in window.state.project.settings["locks"]["objects"]
    undo.activate(second)
    undo.undo()
    assert project.annotation(second).corrected.is_empty()    # the stroke is still undoable
