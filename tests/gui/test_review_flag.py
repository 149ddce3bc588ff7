"""The reviewed mark in the window (issue 12), on real nuclei images: R marks and unmarks, the image list
shows ✓ and filters by it, the mark is unsaved work until saved, it is in the crash journal at once,
and the review pass (a preference) marks on accept and opens the next unreviewed image."""
from __future__ import annotations

import copy

from PySide6.QtCore import Qt

from maskwork.core.formats.coco import load_coco
from maskwork.core.store import review
from maskwork.core.store.project import Project
from maskwork.gui import preferences
from maskwork.gui.panels.image_list import REVIEWED_MARK


def open_nuclei(window, nuclei_folder):
    gt = load_coco(nuclei_folder.parent / "nuclei_gt.json")
    assert window.session.open_path(nuclei_folder, task="instance", classes=gt.classes.copy())
    window.view.setFocus()
    return window.state.project, gt


def row_text(window, name: str) -> str:
    model = window.image_list.model
    return model.index(model.names.index(name)).data()


def test_r_marks_shows_filters_and_saves(qtbot, window, nuclei_folder):
    project, _gt = open_nuclei(window, nuclei_folder)
    names = project.image_names()
    assert not window.windowTitle().startswith("*")
    qtbot.keyClick(window.view, Qt.Key.Key_R)
    assert review.reviewed_names(project) == {names[0]}
    assert row_text(window, names[0]).endswith(REVIEWED_MARK) and not row_text(window, names[1]).endswith(REVIEWED_MARK)
    assert window.windowTitle().startswith("*") and "(reviewed marks)" in window.session.unsaved()
    window.image_list.review_combo.setCurrentText("Reviewed")
    assert window.image_list.visible_names() == [names[0]]
    window.image_list.review_combo.setCurrentText("Not reviewed")
    assert window.image_list.visible_names() == names  # the image on screen stays listed (issue 18)
    assert window.state.current_name == names[0]  # filtering never switches the open image
    window.session.open_image(names[1])
    assert window.image_list.visible_names() == names[1:]
    window.session.open_image(names[0])
    window.image_list.review_combo.setCurrentText("Reviewed or not")
    assert window.session.save()
    assert not window.windowTitle().startswith("*")
    qtbot.keyClick(window.view, Qt.Key.Key_R)  # takes the mark back: unsaved again
    assert review.reviewed_names(project) == set() and window.windowTitle().startswith("*")
    qtbot.keyClick(window.view, Qt.Key.Key_R)
    assert not window.session.unsaved()  # back to what is saved
    window.state.project.close()
    assert review.reviewed_names(Project.open(nuclei_folder)) == {names[0]}


def test_a_mark_is_journaled_at_once(qtbot, window, nuclei_folder):
    """Marked and never saved, the window gone without a word (a crash): the next open has the mark."""
    project, _gt = open_nuclei(window, nuclei_folder)
    name = project.image_names()[1]
    window.session.open_image(name)
    window.actions_["reviewed"].trigger()
    project.close()  # what the journal's writer thread has done by now is all a crash would leave
    again = Project.open(nuclei_folder, writer="test")
    assert review.reviewed_names(again) == {name} and "project.json" in again.recovered
    again.close()


def test_review_pass_accepts_marks_and_opens_the_next_unreviewed(qtbot, window, nuclei_folder):
    project, gt = open_nuclei(window, nuclei_folder)
    names = project.image_names()
    preferences.set_value("review_pass", True, window)
    review.set_reviewed(project, [names[1]])  # already reviewed: the pass skips it
    window.state.reviewed_changed.emit([names[1]])
    truth = next(a for a in gt.annotations if a.file_name == names[0])
    window.state.annotation.prediction = copy.deepcopy(truth.corrected)
    window.state.prediction_changed.emit()
    qtbot.keyClick(window.view, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # accept
    assert len(project.annotation(names[0]).corrected.instances) == len(truth.corrected.instances)
    assert review.reviewed_names(project) == {names[0], names[1]}
    assert window.state.current_name == names[2]
    qtbot.keyClick(window.view, Qt.Key.Key_R)  # the last one: marked, and nothing is left to open
    assert review.reviewed_names(project) == set(names) and window.state.current_name == names[2]


def test_without_the_review_pass_accept_neither_marks_nor_moves(qtbot, window, nuclei_folder):
    project, gt = open_nuclei(window, nuclei_folder)
    names = project.image_names()
    truth = next(a for a in gt.annotations if a.file_name == names[0])
    window.state.annotation.prediction = copy.deepcopy(truth.corrected)
    window.state.prediction_changed.emit()
    window.actions_["accept"].trigger()
    assert not window.state.annotation.corrected.is_empty()
    assert review.reviewed_names(project) == set() and window.state.current_name == names[0]
