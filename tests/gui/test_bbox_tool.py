"""The bounding-box tool (Shift+G, issue 12) on a real nuclei image: a drag records a box-only object of
the current class (drawn dashed), one undo step; select picks it by clicking inside, Del deletes it,
the brush gives it a mask; it is saved, exported as a COCO bbox without segmentation; semantic
projects have no such tool."""
from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsRectItem

from maskwork.core.editing.box_ops import is_box_only
from maskwork.core.formats.coco import load_coco
from maskwork.core.formats.project_io import export_project
from maskwork.core.store.project import Project
from tests.gui.window_helpers import aerial_classes, stroke, view_pos


def open_nuclei(window, nuclei_folder):
    gt = load_coco(nuclei_folder.parent / "nuclei_gt.json")
    assert window.session.open_path(nuclei_folder, task="instance", classes=gt.classes.copy())
    window.view.fit()
    window.view.setFocus()
    return window.state.project


def boxes(window):
    return [i for i in window.state.annotation.corrected.instances if is_box_only(i)]


def dashed_rects(window):
    return [r for r in window.view.boxes.childItems()
            if isinstance(r, QGraphicsRectItem) and r.pen().style() == Qt.PenStyle.DashLine]


def test_drag_records_a_box_that_undoes_saves_and_exports(qtbot, window, nuclei_folder, tmp_path):
    open_nuclei(window, nuclei_folder)
    qtbot.keyClick(window.view, Qt.Key.Key_G, Qt.KeyboardModifier.ShiftModifier)
    assert window.view.tool.name == "bbox"
    before = len(window.state.annotation.corrected.instances)
    stroke(qtbot, window, [view_pos(window, 40.5, 50.5), view_pos(window, 60.5, 60.5), view_pos(window, 90.5, 80.5)])
    [box] = boxes(window)
    assert box.box == (40.0, 50.0, 51.0, 31.0) and box.class_id == window.state.current_class
    assert len(window.state.annotation.corrected.instances) == before + 1
    assert window.editor.selected == [box.id]
    qtbot.waitUntil(lambda: len(dashed_rects(window)) == 1)
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert boxes(window) == []
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert [b.box for b in boxes(window)] == [(40.0, 50.0, 51.0, 31.0)]
    assert window.session.save()
    name = window.state.current_name
    window.state.project.close()
    again = Project.open(nuclei_folder)
    assert [i.box for i in again.annotation(name).corrected.instances if is_box_only(i)] == [(40.0, 50.0, 51.0, 31.0)]
    export_project(again, tmp_path / "out.json", "coco-rle", names=[name])
    doc = json.loads((tmp_path / "out.json").read_text())
    assert [a["bbox"] for a in doc["annotations"] if a["segmentation"] == []] == [[40.0, 50.0, 51.0, 31.0]]


def test_select_picks_a_box_del_deletes_and_the_brush_gives_it_a_mask(qtbot, window, nuclei_folder):
    open_nuclei(window, nuclei_folder)
    window.toolbar.select("bbox")
    stroke(qtbot, window, [view_pos(window, 5.5, 5.5), view_pos(window, 30.5, 25.5)])
    stroke(qtbot, window, [view_pos(window, 200.5, 200.5), view_pos(window, 230.5, 240.5)])
    first, second = boxes(window)
    window.toolbar.select("select")
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=view_pos(window, 210.5, 230.5))
    assert window.editor.selected == [second.id]
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)
    assert [b.id for b in boxes(window)] == [first.id]
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=view_pos(window, 15.5, 15.5))
    assert window.editor.selected == [first.id]
    window.toolbar.select("brush")
    stroke(qtbot, window, [view_pos(window, 12.5, 12.5), view_pos(window, 20.5, 14.5)])
    painted = window.state.annotation.corrected.instance(first.id)
    assert not is_box_only(painted) and painted.mask.area > 0 and boxes(window) == []


def test_semantic_projects_have_no_box_tool(qtbot, window, aerial_folder, aerial_dir):
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    assert not window.toolbar.tool_actions["bbox"].isEnabled()
