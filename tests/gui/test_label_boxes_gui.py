"""Box-only objects and the reviewed mark through the window's label-format export and import (real
nuclei images): a YOLO export tells the user, in its result dialog, that the drawn box was not written
and where; a labelme export and import brings the box and the mark back, and the image list shows it."""
from __future__ import annotations

import shutil

from PySide6.QtCore import Qt

from maskwork.core.editing.box_ops import is_box_only
from maskwork.core.formats.coco import load_coco
from maskwork.core.store import review
from maskwork.gui.dialogs import messages
from maskwork.gui.panels.image_list import REVIEWED_MARK
from tests.gui.window_helpers import stroke, view_pos, wait_job


def _nuclei_with_a_box(qtbot, window, nuclei_folder, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(messages, "show_info", lambda parent, title, text: shown.append((title, text)))
    gt = load_coco(tmp_path / "nuclei_gt.json")
    assert window.session.open_path(nuclei_folder, task="instance", classes=gt.classes)
    wait_job(qtbot, window.files.import_("coco", tmp_path / "nuclei_gt.json"))
    window.view.fit()
    window.toolbar.select("bbox")
    stroke(qtbot, window, [view_pos(window, 10.5, 12.5), view_pos(window, 50.5, 40.5)])
    [box] = [i for i in window.state.annotation.corrected.instances if is_box_only(i)]
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_R)  # reviewed
    shown.clear()
    return shown, box


def test_yolo_export_says_the_box_was_not_written(qtbot, window, nuclei_folder, tmp_path, monkeypatch):
    shown, _box = _nuclei_with_a_box(qtbot, window, nuclei_folder, tmp_path, monkeypatch)
    name = window.state.current_name
    wait_job(qtbot, window.files.export("yolo", tmp_path / "yolo"))
    [(title, text)] = shown
    assert title == "Done, with warnings"
    assert f"1 box-only object (a box, no mask yet) was NOT written, in {name} (1)" in text


def test_labelme_export_and_import_keep_the_box_and_the_mark(qtbot, window, nuclei_folder, tmp_path, monkeypatch):
    _shown, box = _nuclei_with_a_box(qtbot, window, nuclei_folder, tmp_path, monkeypatch)
    name, project = window.state.current_name, window.state.project
    out = tmp_path / "labelme"
    wait_job(qtbot, window.files.export("labelme", out))
    for f in out.glob("*.json"):  # labelme keeps its files beside the images
        shutil.copy(f, nuclei_folder / f.name)
    window.actions_["reviewed"].trigger()  # take the mark back and drop the box: the import restores both
    project.annotation(name).corrected.instances.clear()
    assert review.reviewed_names(project) == set()
    wait_job(qtbot, window.files.import_("labelme", nuclei_folder, overwrite=True))
    assert [i.box for i in window.state.annotation.corrected.instances if is_box_only(i)] == [box.box]
    assert review.reviewed_names(project) == {name}
    model = window.image_list.model
    assert model.index(model.names.index(name)).data().endswith(REVIEWED_MARK)
