"""Issue 12, editing defects on real images: Accept prediction asks before overwriting corrections,
Ctrl+Z in the image filter reaches the canvas, class keys follow the class list, class edits undo."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from maskwork.core.domain.annotation import ClassInfo, ClassList, Instance, Layer, Source
from maskwork.core.domain.masks import Mask
from maskwork.gui.dialogs import accept_prediction as accept_dialog
from tests.gui.window_helpers import aerial_classes, label_map, stroke, view_pos

NUCLEI = ClassList([ClassInfo(0, "background", "#000000"), ClassInfo(1, "nucleus", "#FF7F0E")])


def open_aerial_with_prediction(window, aerial_folder, aerial_dir, tmp_path):
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    truth = np.array(Image.open(tmp_path / "aerial_masks" / window.state.current_name))
    window.state.annotation.prediction = Layer(label_map=truth.copy())
    window.state.prediction_changed.emit()
    return truth


def answer(monkeypatch, choice):
    asked = []
    monkeypatch.setattr(accept_dialog, "ask_accept_mode", lambda parent, instance: asked.append(instance) or choice)
    return asked


def test_accept_over_corrections_asks_and_add_keeps_them(qtbot, window, aerial_folder, aerial_dir, tmp_path,
                                                         monkeypatch):
    truth = open_aerial_with_prediction(window, aerial_folder, aerial_dir, tmp_path)
    window.state.set_current_class(4)
    stroke(qtbot, window, [view_pos(window, 20, 20), view_pos(window, 200, 30)])
    painted = label_map(window).copy()
    mine = painted != 0
    assert mine.any()

    asked = answer(monkeypatch, accept_dialog.CANCEL)
    window.actions_["accept"].trigger()
    assert asked == [False] and np.array_equal(label_map(window), painted)  # cancel: nothing changed

    answer(monkeypatch, accept_dialog.ADD)
    window.actions_["accept"].trigger()
    assert np.array_equal(label_map(window)[mine], painted[mine])     # the correction stays
    assert np.array_equal(label_map(window)[~mine], truth[~mine])     # the rest is the prediction
    window.actions_["undo"].trigger()                                 # one step
    assert np.array_equal(label_map(window), painted)

    answer(monkeypatch, accept_dialog.REPLACE)
    window.actions_["accept"].trigger()
    assert np.array_equal(label_map(window), truth)


def test_accept_on_instances_adds_only_unmatched_objects(qtbot, window, nuclei_folder, tmp_path, monkeypatch):
    assert window.session.open_path(nuclei_folder, task="instance", classes=NUCLEI)
    gt = json.loads((tmp_path / "nuclei_gt.json").read_text())
    image_id = next(i["id"] for i in gt["images"] if i["file_name"] == window.state.current_name)
    masks = [Mask.from_rle(a["segmentation"]) for a in gt["annotations"] if a["image_id"] == image_id]
    assert len(masks) > 4
    ann = window.state.annotation
    ann.prediction = Layer(None, [Instance(i + 1, 1, m, 0.9, None, Source.MODEL) for i, m in enumerate(masks)])
    ann.corrected.instances = [Instance(1, 1, masks[0], 1.0, None, Source.PERSON),
                               Instance(2, 1, masks[1], 1.0, None, Source.PERSON)]
    asked = answer(monkeypatch, accept_dialog.ADD)
    window.actions_["accept"].trigger()
    assert asked == [True]
    corrected = ann.corrected.instances
    assert len(corrected) == len(masks)  # the two corrected ones are not added a second time
    assert [i.source for i in corrected[:2]] == [Source.PERSON, Source.PERSON]
    window.actions_["undo"].trigger()
    assert len(ann.corrected.instances) == 2


def test_ctrl_z_in_the_filter_box_undoes_the_edit_unless_typing_there(qtbot, window, aerial_folder, aerial_dir):
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    stroke(qtbot, window, [view_pos(window, 50, 50), view_pos(window, 80, 60)])
    painted = label_map(window).copy()
    assert painted.any()
    f = window.image_list.filter_edit
    f.setFocus()
    qtbot.waitUntil(f.hasFocus)
    qtbot.keyClicks(f, "tile")
    qtbot.keyClick(f, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert f.text() == "" and np.array_equal(label_map(window), painted)  # typing there: its own undo
    window.view.setFocus()  # the user goes on with the image, then clicks into the filter box again
    f.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is f)
    qtbot.keyClick(f, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not label_map(window).any() and f.text() == ""  # the stroke was undone, not the text
    qtbot.keyClick(f, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(label_map(window), painted)


def open_nuclei_with_gapped_classes(window, nuclei_folder):
    """Ids in list order 0, 4, 2: key 1 must be id 4 ("tumour"), key 2 id 2 ("nucleus")."""
    classes = ClassList([ClassInfo(0, "background", "#000000"), ClassInfo(4, "tumour", "#D62728"),
                         ClassInfo(2, "nucleus", "#FF7F0E")])
    assert window.session.open_path(nuclei_folder, task="instance", classes=classes)
    return window.state.project


def test_class_keys_follow_the_list_and_show_names(qtbot, window, nuclei_folder):
    open_nuclei_with_gapped_classes(window, nuclei_folder)
    qtbot.keyClick(window.view, Qt.Key.Key_1)
    assert window.state.current_class == 4
    qtbot.keyClick(window.view, Qt.Key.Key_2)
    assert window.state.current_class == 2
    tools = [a.text() for a in window.menus["Tools"].actions() if a.isVisible()]
    assert "Class: tumour" in tools and "Class: nucleus" in tools
    assert not any(t.startswith("Class ") and t[6:].isdigit() for t in tools)
    rows = window.show_shortcuts().table
    listed = {rows.item(r, 1).text(): rows.item(r, 2).text() for r in range(rows.rowCount())}
    assert listed["1"] == "Class: tumour" and listed["2"] == "Class: nucleus" and "3" not in listed
    assert window.classes_panel.list.item(1).text() == "1  tumour"  # the panel shows the same key


def test_a_digit_with_a_selection_reclasses_it_visibly_and_undoably(qtbot, window, nuclei_folder):
    open_nuclei_with_gapped_classes(window, nuclei_folder)
    window.state.set_current_class(2)
    stroke(qtbot, window, [view_pos(window, 60, 60), view_pos(window, 90, 70)])  # a new instance, selected
    inst = window.state.annotation.corrected.instances[-1]
    assert window.editor.selected == [inst.id] and inst.class_id == 2
    said = []
    window.state.status_message.connect(said.append)
    qtbot.keyClick(window.view, Qt.Key.Key_1)
    assert window.state.annotation.corrected.instances[-1].class_id == 4
    assert said and "tumour" in said[-1] and "1 selected instance" in said[-1]
    window.actions_["undo"].trigger()
    assert window.state.annotation.corrected.instances[-1].class_id == 2


def test_adding_renaming_recolouring_a_class_are_undo_steps(qtbot, window, aerial_folder, aerial_dir):
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    project, panel = window.state.project, window.classes_panel
    journaled = []
    project.journal_classes = lambda: journaled.append([c.name for c in project.classes])
    panel.add_class("shadow", "#101010")
    panel.rename_class(6, "shade")
    panel.recolour_class(6, "#123456")
    undo, redo = window.actions_["undo"], window.actions_["redo"]
    undo.trigger()
    assert project.classes.get(6).color == "#101010"
    undo.trigger()
    assert project.classes.get(6).name == "shadow" and journaled[-1][-1] == "shadow"
    undo.trigger()
    assert 6 not in project.classes and panel.list.count() == 6 and window.state.current_class != 6
    assert "shadow" not in journaled[-1]  # the crash journal follows the undo
    assert not any("shadow" in a.text() for a in window.class_actions if a.isVisible())
    redo.trigger()
    redo.trigger()
    redo.trigger()
    c = project.classes.get(6)
    assert (c.name, c.color) == ("shade", "#123456") and panel.list.count() == 7
