"""Box-only objects in the Objects panel (issue 12 gap): a box drawn with the bounding-box tool on a real
nuclei image is listed with the nuclei (marked "box only", its area the box's w x h), selects on the
canvas, hides from the canvas and locks against deletion like any object."""
from __future__ import annotations

from PySide6.QtCore import Qt

from maskwork.core.editing.box_ops import is_box_only
from maskwork.gui.panels.objects_panel import AREA, EYE, LOCK, NAME
from tests.gui.objects_support import open_holed_nuclei
from tests.gui.test_bbox_tool import dashed_rects
from tests.gui.test_objects_panel import _object_item, _press, _rows
from tests.gui.window_helpers import stroke, view_pos


def _draw_box(qtbot, window, corner0, corner1):
    window.view.fit()
    window.toolbar.select("bbox")
    stroke(qtbot, window, [view_pos(window, *corner0), view_pos(window, *corner1)])
    [box] = [i for i in window.state.annotation.corrected.instances if is_box_only(i)]
    return box


def test_box_only_objects_are_listed_selected_hidden_and_locked(qtbot, window, nuclei_val, tmp_path, objects_dock):
    panel = objects_dock
    open_holed_nuclei(window, nuclei_val, tmp_path)
    layer = window.state.annotation.corrected
    masked = len(layer.instances)
    box = _draw_box(qtbot, window, (300.5, 20.5), (339.5, 44.5))
    assert box.box == (300.0, 20.0, 40.0, 25.0)

    rows = [r for _, r in _rows(panel) if r.kind == "object"]
    assert len(rows) == masked + 1 == len(layer.instances)           # every object, the box too
    [row] = [r for r in rows if r.box_only]
    assert (row.id, row.area) == (box.id, 40 * 25)
    item = _object_item(panel, box.id)
    assert item.text(NAME) == f"#{box.id}" and item.text(AREA) == "box 1,000"
    assert "no mask yet" in item.toolTip(AREA)
    assert "1 box only" in panel.summary.text()
    head = panel.tree.topLevelItem(0)
    assert head.data(0, Qt.ItemDataRole.UserRole).area == sum(i.mask.area for i in layer.instances)  # pixels only

    window.editor.set_selection([])
    _press(qtbot, panel, item, NAME)                                  # the row selects the box on the canvas
    assert window.editor.selected == [box.id]
    _press(qtbot, panel, _object_item(panel, box.id), EYE)            # hidden: no dashed box, box kept
    qtbot.waitUntil(lambda: dashed_rects(window) == [])
    assert window.editor.selected == [] and layer.instance(box.id).box == box.box
    _press(qtbot, panel, _object_item(panel, box.id), EYE)
    qtbot.waitUntil(lambda: len(dashed_rects(window)) == 1)

    messages = []
    window.state.status_message.connect(messages.append)
    _press(qtbot, panel, _object_item(panel, box.id), LOCK)
    assert window.state.flags.locked_ids() == {box.id}
    _press(qtbot, panel, _object_item(panel, box.id), NAME)
    window.actions_["delete"].trigger()                               # refused: the box is locked
    assert is_box_only(layer.instance(box.id)) and any(m.startswith("Locked:") for m in messages)
    _press(qtbot, panel, _object_item(panel, box.id), LOCK)
    _press(qtbot, panel, _object_item(panel, box.id), NAME)
    window.actions_["delete"].trigger()
    assert box.id not in {i.id for i in layer.instances}
    assert all(not r.box_only for _, r in _rows(panel))


def test_filter_word_box_lists_only_box_only_objects(qtbot, window, nuclei_val, tmp_path, objects_dock):
    panel = objects_dock
    open_holed_nuclei(window, nuclei_val, tmp_path)
    box = _draw_box(qtbot, window, (5.5, 300.5), (60.5, 350.5))
    qtbot.keyClicks(panel.filter, "box")
    assert [r.id for _, r in _rows(panel) if r.kind == "object"] == [box.id]
    assert "match the filter" in panel.summary.text()
