"""Outline editing (issue 12 feature) with real mouse events on real data: drag a vertex of a real
nucleus that has a hole, add and delete vertices, edit a region of an aerial label map, and move
the corners of a polygon before it is committed. Each drag is one undo step that restores the exact
pixels."""
from __future__ import annotations

import math

import cv2
import numpy as np
from PySide6.QtCore import Qt

from maskwork.core.domain.masks import Mask
from maskwork.core.editing.outline_ops import trace_mask
from tests.gui.objects_support import (
    click,
    drag,
    inside,
    look_at,
    open_aerial_truth,
    open_holed_nuclei,
)
from tests.gui.window_helpers import label_map


def _outline_tool(qtbot, win):
    qtbot.keyClick(win.view, Qt.Key.Key_V)
    assert win.view.tool.name == "outline"
    return win.view.tool


def _far_from(points, k, margin, shape):
    """Pixels farther than `margin` from both edges that meet at vertex k (nothing may change there)."""
    n = len(points)
    near = np.zeros(shape, np.uint8)
    for a, b in ((points[k - 1], points[k]), (points[k], points[(k + 1) % n])):
        cv2.line(near, a, b, 1, thickness=2 * margin + 1)
    return near == 0


def test_dragging_a_vertex_moves_the_mask_keeps_the_hole_and_undoes_exactly(qtbot, window, nuclei_val, tmp_path):
    holed = open_holed_nuclei(window, nuclei_val, tmp_path)
    layer = window.state.annotation.corrected
    original = layer.instance(holed).mask
    hole = trace_mask(original).holes.to_full()
    assert hole.sum() == 16  # the real nucleus has a hole
    look_at(window, *inside(original), zoom=6)
    tool = _outline_tool(qtbot, window)
    click(qtbot, window, *inside(original))
    assert window.editor.selected == [holed]
    points = list(tool.points)
    assert 8 <= len(points) <= 60 and tool.handles.handles[0].isVisible()

    k = max(range(len(points)), key=lambda i: points[i][0])  # the rightmost vertex, dragged outwards
    x, y = points[k]
    drag(qtbot, window, (x + 0.5, y + 0.5), (x + 8.5, y + 3.5))
    after = layer.instance(holed).mask.to_full()
    before = original.to_full()
    assert tool.points[k] == (x + 8, y + 3) and len(tool.points) == len(points)
    assert after[y + 3, x + 8] and not before[y + 3, x + 8]        # the mask reaches the new vertex
    grown = after & ~before
    assert grown.sum() > 10 and grown[:, : x - 8].sum() == 0       # it grew on the dragged side only
    far = _far_from(points, k, 3, before.shape) & _far_from(tool.points, k, 3, before.shape)
    assert np.array_equal(after[far], before[far])                  # elsewhere: the exact old boundary
    assert not (after & hole).any()                                 # the hole is still a hole
    assert window.editor.undo.activeStack().count() == 1            # one drag, one step

    window.actions_["undo"].trigger()
    assert layer.instance(holed).mask.to_full().tobytes() == before.tobytes()
    assert tool.points == points                                    # the outline follows the undo
    window.actions_["redo"].trigger()
    assert np.array_equal(layer.instance(holed).mask.to_full(), after)

    # the vertex next to the hole, pulled towards it: its edges sweep over the hole, which stays empty
    hy, hx = np.argwhere(hole).mean(axis=0)
    points = list(tool.points)
    k = min(range(len(points)), key=lambda i: math.dist(points[i], (hx, hy)))
    x, y = points[k]
    assert math.dist((x, y), (hx, hy)) < 8
    drag(qtbot, window, (x + 0.5, y + 0.5), (x + 3.5, y + 0.5))
    moved = layer.instance(holed).mask.to_full()
    assert not np.array_equal(moved, after) and not (moved & hole).any()
    assert window.editor.undo.activeStack().count() == 2


def test_insert_on_an_edge_and_delete_vertices(qtbot, window, nuclei_val, tmp_path):
    holed = open_holed_nuclei(window, nuclei_val, tmp_path)
    layer = window.state.annotation.corrected
    look_at(window, *inside(layer.instance(holed).mask), zoom=6)
    tool = _outline_tool(qtbot, window)
    click(qtbot, window, *inside(layer.instance(holed).mask))
    points = list(tool.points)
    k = max(range(len(points)), key=lambda i: math.dist(points[i], points[(i + 1) % len(points)]))
    (ax, ay), (bx, by) = points[k], points[(k + 1) % len(points)]
    mid = ((ax + bx) / 2 + 0.5, (ay + by) / 2 + 0.5)
    before = layer.instance(holed).mask.to_full()
    # press on the middle of the longest edge and pull outwards: a new vertex, dragged
    centre = np.mean(points, axis=0)
    out = np.subtract(mid, centre + 0.5)
    out = out / np.linalg.norm(out) * 6
    drag(qtbot, window, mid, (mid[0] + out[0], mid[1] + out[1]))
    assert len(tool.points) == len(points) + 1 and tool.points[k + 1] not in points
    grown = layer.instance(holed).mask.to_full() & ~before
    assert grown.sum() > 5
    assert window.editor.undo.activeStack().count() == 1

    # Shift+click deletes a vertex: one more step, the mask loses the corner
    count = len(tool.points)
    vx, vy = tool.points[k + 1]
    click(qtbot, window, vx + 0.5, vy + 0.5, Qt.KeyboardModifier.ShiftModifier)
    assert len(tool.points) == count - 1 and window.editor.undo.activeStack().count() == 2
    assert (layer.instance(holed).mask.to_full() & ~before).sum() < grown.sum() // 2  # the bump is gone

    # touch a vertex, then Delete removes that vertex, not the instance
    n = len(layer.instances)
    vx, vy = tool.points[0]
    click(qtbot, window, vx + 0.5, vy + 0.5)
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)
    assert len(tool.points) == count - 2 and len(layer.instances) == n
    window.actions_["undo"].trigger()
    window.actions_["undo"].trigger()
    window.actions_["undo"].trigger()
    assert layer.instance(holed).mask.to_full().tobytes() == before.tobytes()


def test_semantic_outline_edits_one_region_of_a_class(qtbot, window, aerial_folder, aerial_dir, tmp_path):
    truth = open_aerial_truth(window, aerial_folder, aerial_dir, tmp_path)
    # a compact region of one class, neither tiny nor most of the image
    choice = None
    for cid in np.unique(truth):
        if cid == 0:
            continue
        n, labels, stats, _ = cv2.connectedComponentsWithStats((truth == cid).astype(np.uint8), connectivity=8)
        for j in range(1, n):
            if 400 <= stats[j, cv2.CC_STAT_AREA] <= 6000 and choice is None:
                choice = (int(cid), labels == j)
    assert choice is not None
    cid, region = choice
    dist = cv2.distanceTransform(np.pad(region, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    sy, sx = np.unravel_index(np.argmax(dist), dist.shape)
    look_at(window, sx, sy, zoom=2)
    tool = _outline_tool(qtbot, window)
    click(qtbot, window, sx + 0.5, sy + 0.5)
    assert window.state.current_class == cid and len(tool.points) >= 3
    points = list(tool.points)
    centre = np.mean(points, axis=0)
    k = max(range(len(points)), key=lambda i: math.dist(points[i], centre))
    x, y = points[k]
    direction = np.subtract((x, y), centre)
    dx, dy = (direction / np.linalg.norm(direction) * 10).round().astype(int)
    drag(qtbot, window, (x + 0.5, y + 0.5), (x + dx + 0.5, y + dy + 0.5))
    after = label_map(window)
    changed = after != truth
    assert changed.any()
    assert set(np.unique(after[changed])) <= {0, cid}               # only this class is drawn or given up
    assert (truth[changed & (after == 0)] == cid).all()             # given-up pixels were this region's
    far = _far_from(points, k, 6, truth.shape) & _far_from(tool.points, k, 6, truth.shape)
    assert np.array_equal(after[far], truth[far])
    window.actions_["undo"].trigger()
    assert np.array_equal(label_map(window), truth)


def test_polygon_corners_stay_draggable_until_committed(qtbot, window, aerial_folder, aerial_dir, tmp_path):
    truth = open_aerial_truth(window, aerial_folder, aerial_dir, tmp_path)
    look_at(window, 160, 160, zoom=2)
    qtbot.keyClick(window.view, Qt.Key.Key_P)
    qtbot.keyClick(window.view, Qt.Key.Key_2)
    corners = [(40.5, 40.5), (140.5, 50.5), (120.5, 150.5), (50.5, 120.5)]
    for x, y in corners:
        click(qtbot, window, x, y)
    drag(qtbot, window, corners[2], (170.5, 180.5))                 # move a placed corner
    click(qtbot, window, 50.5, 120.5, Qt.KeyboardModifier.ShiftModifier)  # remove the last one
    click(qtbot, window, 30.5, 130.5)                               # and place another
    assert np.array_equal(label_map(window), truth)                 # nothing painted before Enter
    qtbot.keyClick(window.view, Qt.Key.Key_Return)
    expected = truth.copy()
    cv2.fillPoly(expected, [np.array([(40, 40), (140, 50), (170, 180), (30, 130)], np.int32)], 2)
    assert np.array_equal(label_map(window), expected)
    assert window.editor.undo.activeStack().count() == 1


def test_outline_of_a_two_part_instance_edits_the_clicked_part(qtbot, window, nuclei_val, tmp_path):
    """An instance in two parts (a real nucleus plus a copy beside it): the part clicked is outlined."""
    holed = open_holed_nuclei(window, nuclei_val, tmp_path)
    layer = window.state.annotation.corrected
    inst = layer.instance(holed)
    original_x0 = inst.mask.x0
    left = original_x0 - inst.mask.crop.shape[1] - 6
    shifted = Mask.from_crop(inst.mask.height, inst.mask.width, left, inst.mask.y0, inst.mask.crop)
    inst.mask = Mask.from_full(inst.mask.to_full() | shifted.to_full())
    window.state.notify_edit(None)
    look_at(window, *inside(shifted), zoom=4)
    tool = _outline_tool(qtbot, window)
    click(qtbot, window, *inside(shifted))
    assert max(x for x, _ in tool.points) < original_x0 - 5  # the copy's outline, not the original's
    assert window.editor.selected == [holed]
