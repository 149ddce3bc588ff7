"""Objects panel (issue 12 feature) on real data: rows of the nuclei instances and of the aerial
classes, selection both ways, the eye hides an object from the rendered overlay without touching
its mask, the padlock refuses brush, eraser, delete and outline edits (and persists with the
project, while visibility does not), sorting and filtering."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from maskwork.core.view.object_rows import SOURCE_TEXT
from maskwork.core.view.objects import class_areas
from maskwork.gui.panels.objects_panel import AREA, EYE, KEY, LOCK, SCORE
from tests.gui.objects_support import click, drag, inside, look_at, open_aerial_truth, open_holed_nuclei
from tests.gui.window_helpers import label_map, stroke, view_pos


def _rows(panel):
    """(item, Row) of every row shown, in order, once the panel has caught up with the last edit."""
    for _ in range(100):  # the list follows edits after a short batching delay
        if not panel._timer.isActive():
            break
        QTest.qWait(20)
    assert not panel._timer.isActive()
    out = []
    for i in range(panel.tree.topLevelItemCount()):
        top = panel.tree.topLevelItem(i)
        out.append((top, top.data(0, KEY)))
        out += [(top.child(k), top.child(k).data(0, KEY)) for k in range(top.childCount())]
    return out


def _press(qtbot, panel, item, column):
    """A real click on one cell of the tree."""
    panel.tree.scrollToItem(item)
    rect = panel.tree.visualItemRect(item)
    x = panel.tree.header().sectionViewportPosition(column) + panel.tree.header().sectionSize(column) // 2
    qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, rect.center().y()))


def _object_item(panel, instance_id):
    return next(item for item, row in _rows(panel) if row.kind == "object" and row.id == instance_id)


def _alpha(window, mask, others):
    """Overlay alpha on the pixels of `mask` that no other instance covers."""
    x0, y0, x1, y1 = mask.x0, mask.y0, mask.x1, mask.y1
    own = mask.region(x0, y0, x1, y1) & ~others[y0:y1, x0:x1]
    return window.view.corrected_overlay.pixels(x0, y0, x1, y1)[..., 3][own]


def test_instance_rows_and_selection_both_ways(qtbot, window, nuclei_val, tmp_path, objects_dock):
    panel = objects_dock
    open_holed_nuclei(window, nuclei_val, tmp_path)
    layer = window.state.annotation.corrected
    rows = [r for _, r in _rows(panel) if r.kind == "object"]
    assert sorted(r.id for r in rows) == sorted(i.id for i in layer.instances)
    by_id = {i.id: i for i in layer.instances}
    for r in rows:
        inst = by_id[r.id]
        assert (r.area, r.score, r.source) == (inst.mask.area, inst.score, SOURCE_TEXT[inst.source.value])
    head = panel.tree.topLevelItem(0)
    assert (head.text(2), head.text(3)) == ("nucleus", f"{len(rows)} objects")
    assert {r.source for r in rows} == {"model", "by hand"}  # not "person": COCO has a class of that name

    target = max(layer.instances, key=lambda i: i.mask.area)
    _press(qtbot, panel, _object_item(panel, target.id), 2)         # a row selects on the canvas
    assert window.editor.selected == [target.id]
    window.toolbar.select("select")
    other = min(layer.instances, key=lambda i: i.mask.area)
    look_at(window, *inside(other.mask), zoom=3)
    click(qtbot, window, *inside(other.mask))                       # the canvas selects the row
    assert window.editor.selected == [other.id]
    assert [item.data(0, KEY).id for item in panel.tree.selectedItems()] == [other.id]


def test_eye_hides_an_object_from_the_overlay_and_never_touches_its_mask(qtbot, window, nuclei_val, tmp_path,
                                                                        objects_dock):
    panel = objects_dock
    open_holed_nuclei(window, nuclei_val, tmp_path)
    layer = window.state.annotation.corrected
    target = max(layer.instances, key=lambda i: i.mask.area)
    others = np.zeros(target.mask.shape, bool)
    for inst in layer.instances:
        if inst.id != target.id:
            others |= inst.mask.to_full()
    mask_before = target.mask
    assert (_alpha(window, target.mask, others) > 0).all()
    _press(qtbot, panel, _object_item(panel, target.id), EYE)
    assert (_alpha(window, target.mask, others) == 0).all()          # gone from the rendered overlay
    assert layer.instance(target.id).mask is mask_before              # the mask itself is untouched
    assert window.editor.selected == []                               # the eye does not select
    assert target.id not in {i.id for i in window.binding.shown_layer().instances}  # no box, no label
    window.toolbar.select("select")
    look_at(window, *inside(target.mask), zoom=3)
    click(qtbot, window, *inside(target.mask))                        # a hidden object is not picked
    assert target.id not in window.editor.selected
    _press(qtbot, panel, _object_item(panel, target.id), EYE)
    assert (_alpha(window, target.mask, others) > 0).all()

    _press(qtbot, panel, panel.tree.topLevelItem(0), EYE)             # the class eye: every nucleus
    h, w = target.mask.shape
    assert (window.view.corrected_overlay.pixels(0, 0, w, h)[..., 3] == 0).all()
    assert "hidden" in panel.summary.text()
    panel.show_all.click()
    assert (_alpha(window, target.mask, others) > 0).all()


def test_lock_refuses_brush_eraser_delete_and_outline_edits(qtbot, window, nuclei_val, tmp_path, objects_dock):
    panel = objects_dock
    holed = open_holed_nuclei(window, nuclei_val, tmp_path)
    layer = window.state.annotation.corrected
    mask = layer.instance(holed).mask
    messages = []
    window.state.status_message.connect(messages.append)
    _press(qtbot, panel, _object_item(panel, holed), LOCK)
    assert window.state.flags.locked_ids() == {holed}

    look_at(window, *inside(mask), zoom=4)
    window.toolbar.select("select")
    click(qtbot, window, *inside(mask))
    assert window.editor.selected == [holed]
    cx, cy = inside(mask)
    qtbot.keyClick(window.view, Qt.Key.Key_B)                         # brush on the selected, locked nucleus
    stroke(qtbot, window, [view_pos(window, cx + 20, cy), view_pos(window, cx + 40, cy + 10)])
    qtbot.keyClick(window.view, Qt.Key.Key_E)
    stroke(qtbot, window, [view_pos(window, cx, cy - 5), view_pos(window, cx, cy + 5)])
    window.actions_["delete"].trigger()
    qtbot.keyClick(window.view, Qt.Key.Key_V)
    click(qtbot, window, cx, cy)
    x, y = window.view.tool.points[0]
    drag(qtbot, window, (x + 0.5, y + 0.5), (x + 10.5, y + 10.5))
    assert layer.instance(holed).mask.to_full().tobytes() == mask.to_full().tobytes()
    assert window.editor.undo.activeStack() is None or window.editor.undo.activeStack().count() == 0
    assert any(m.startswith("Locked:") for m in messages)

    _press(qtbot, panel, _object_item(panel, holed), LOCK)            # unlocked: the brush paints again
    qtbot.keyClick(window.view, Qt.Key.Key_B)
    window.editor.set_selection([holed])
    stroke(qtbot, window, [view_pos(window, cx + 20, cy), view_pos(window, cx + 40, cy + 10)])
    assert layer.instance(holed).mask.area > mask.area


def test_locks_persist_with_the_project_and_visibility_does_not(qtbot, window, nuclei_val, tmp_path, objects_dock):
    panel = objects_dock
    holed = open_holed_nuclei(window, nuclei_val, tmp_path)
    name = window.state.current_name
    _press(qtbot, panel, _object_item(panel, holed), LOCK)
    _press(qtbot, panel, _object_item(panel, holed), EYE)
    assert window.state.project.settings["locks"] == {"classes": [], "objects": {name: [holed]}}
    folder = window.state.project.root
    assert window.session.save()
    assert window.session.open_path(folder)
    assert window.state.flags.locked_ids(name) == {holed}
    assert window.state.flags.hidden_ids(name) == set()
    row = next(r for _, r in _rows(panel) if r.kind == "object" and r.id == holed)
    assert row.locked and not row.hidden


def test_sort_and_filter(qtbot, window, nuclei_val, tmp_path, objects_dock):
    panel = objects_dock
    open_holed_nuclei(window, nuclei_val, tmp_path)
    panel.tree.header().setSortIndicator(AREA, Qt.SortOrder.DescendingOrder)
    areas = [r.area for _, r in _rows(panel) if r.kind == "object"]
    assert areas == sorted(areas, reverse=True) and len(areas) > 5
    panel.tree.header().setSortIndicator(SCORE, Qt.SortOrder.AscendingOrder)
    scores = [r.score for _, r in _rows(panel) if r.kind == "object" and r.score is not None]
    assert scores == sorted(scores)
    qtbot.keyClicks(panel.filter, "model area<300")
    shown = [r for _, r in _rows(panel) if r.kind == "object"]
    everything = panel.rows()
    expected = [r for r in everything if r.source == "model" and r.area < 300]
    assert 0 < len(shown) == len(expected) < len(everything)
    assert "match the filter" in panel.summary.text()


def test_semantic_classes_with_areas_eye_and_lock(qtbot, window, aerial_folder, aerial_dir, tmp_path, objects_dock):
    panel = objects_dock
    truth = open_aerial_truth(window, aerial_folder, aerial_dir, tmp_path)
    rows = {r.class_id: r for _, r in _rows(panel)}
    assert {c: r.area for c, r in rows.items()} == class_areas(truth)
    cid = max((c for c in rows if c != 0), key=lambda c: rows[c].area)
    item = next(i for i, r in _rows(panel) if r.class_id == cid)
    assert item.text(AREA).startswith(f"{rows[cid].area:,}")

    h, w = truth.shape
    _press(qtbot, panel, item, EYE)                                   # the class disappears from the overlay
    alpha = window.view.corrected_overlay.pixels(0, 0, w, h)[..., 3]
    assert (alpha[truth == cid] == 0).all() and (alpha[(truth != cid) & (truth != 0)] > 0).all()
    assert np.array_equal(label_map(window), truth)
    _press(qtbot, panel, next(i for i, r in _rows(panel) if r.class_id == cid), EYE)

    _press(qtbot, panel, next(i for i, r in _rows(panel) if r.class_id == cid), LOCK)
    paint = next(c for c in (1, 2, 3, 4, 5) if c != cid)
    window.state.set_current_class(paint)
    window.toolbar.select("brush")
    look_at(window, w / 2, h / 2, zoom=2)
    stroke(qtbot, window, [view_pos(window, 10, 10), view_pos(window, w - 10, h - 10)])
    after = label_map(window)
    assert (after[truth == cid] == cid).all()                         # locked pixels kept
    assert (after != truth).any()                                     # the rest was painted
    _press(qtbot, panel, next(i for i, r in _rows(panel) if r.class_id == cid), 2)  # a row picks its class
    assert window.state.current_class == cid


def test_the_objects_panel_is_docked_from_the_table_and_listed_in_the_view_menu(qtbot, window, monkeypatch):
    from maskwork.gui import docks
    from tests.gui.objects_support import OBJECTS_SPEC

    monkeypatch.setattr(docks, "PANELS", [OBJECTS_SPEC])
    window.add_panels()
    assert "Objects" in window.panel_docks
    view = {a.text(): a for a in window.menus["View"].actions()}
    dock = window.panel_docks["Objects"]
    dock.close()
    view["Objects"].trigger()
    assert dock.isVisible()
