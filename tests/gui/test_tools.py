"""Drawing tools with real mouse events on the viewport: brush, eraser, fill, polygon, select,
merge, delete, class keys; one stroke = one undo step, undo/redo bit for bit."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from maskwork.core.domain.annotation import Status
from maskwork.core.editing.shapes import capsule
from maskwork.core.formats.coco import load_coco
from tests.gui.window_helpers import aerial_classes, hover, image_pixel, label_map, stroke, view_pos


@pytest.fixture
def semantic(window, aerial_folder, aerial_dir, tmp_path):
    """An aerial image whose corrected layer starts as its real ground-truth mask."""
    from PIL import Image

    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    truth = np.array(Image.open(tmp_path / "aerial_masks" / window.state.current_name))
    window.state.annotation.corrected.label_map = truth
    window.state.notify_edit(None)
    window.view.set_zoom(2.0)
    window.view.centerOn(160, 160)
    return window


@pytest.fixture
def instances(window, nuclei_folder, tmp_path):
    """A nuclei image with its real instance masks as the corrected layer."""
    gt = load_coco(tmp_path / "nuclei_gt.json")
    classes = gt.classes.copy()
    classes.add("background", "#000000", 0)
    classes.add("debris", "#ff00ff", 2)
    assert window.session.open_path(nuclei_folder, task="instance", classes=classes)
    for ann in gt.annotations:
        window.state.project.set_annotation(ann.file_name, ann)
    name = window.state.current_name
    window.state.annotation = window.state.project.annotation(name)
    window.editor.image_switched()
    window.state.image_changed.emit(name)
    window.view.set_zoom(2.0)
    window.view.centerOn(128, 128)
    window.toolbar.select("select")
    return window


def expected_stroke(window, points, radius) -> np.ndarray:
    h, w = label_map(window).shape
    out = np.zeros((h, w), bool)
    pix = [image_pixel(window, p) for p in points]
    for a, b in zip(pix, pix[1:] or pix):
        x0, y0, crop = capsule(a, b, radius, h, w)
        out[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] |= crop
    return out


def test_brush_stroke_changes_exactly_the_pixels_under_it(qtbot, semantic):
    win = semantic
    before = label_map(win).copy()
    qtbot.keyClick(win.view, Qt.Key.Key_1)  # building
    points = [view_pos(win, 60, 60), view_pos(win, 90, 75), view_pos(win, 130, 70), view_pos(win, 150, 110)]
    stroke(qtbot, win, points)
    under = expected_stroke(win, points, win.editor.radius)
    after = label_map(win)
    assert np.array_equal(after[under], np.full(under.sum(), 1, after.dtype))
    assert np.array_equal(after[~under], before[~under])
    assert win.editor.undo.activeStack().count() == 1  # the whole stroke is one step
    assert win.state.annotation.status == Status.CORRECTED


def test_undo_redo_restore_bit_for_bit(qtbot, semantic):
    win = semantic
    original = label_map(win).copy()
    stroke(qtbot, win, [view_pos(win, 40, 40), view_pos(win, 120, 140)])
    first = label_map(win).copy()
    qtbot.keyClick(win.view, Qt.Key.Key_4)
    stroke(qtbot, win, [view_pos(win, 140, 40), view_pos(win, 50, 150)])
    second = label_map(win).copy()
    qtbot.keyClick(win.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(label_map(win), first)
    qtbot.keyClick(win.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(label_map(win), original)
    qtbot.keyClick(win.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(label_map(win), first)
    qtbot.keyClick(win.view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(label_map(win), second)
    # the overlay follows: its pixels equal a fresh render of the layer
    from maskwork.core.view.render import render_window

    h, w = second.shape
    fresh = render_window(win.state.annotation.corrected, (0, 0, w, h), win.view.corrected_overlay.lut)
    assert np.array_equal(win.view.corrected_overlay.pixels(0, 0, w, h), fresh)
    assert win.editor.undo_memory() < second.nbytes  # undo holds edited regions, not images


def test_eraser_and_right_button_write_unlabeled(qtbot, semantic):
    win = semantic
    before = label_map(win).copy()
    points = [view_pos(win, 70, 70), view_pos(win, 100, 100)]
    stroke(qtbot, win, points, button=Qt.MouseButton.RightButton)
    under = expected_stroke(win, points, win.editor.radius)
    assert (label_map(win)[under] == 0).all() and np.array_equal(label_map(win)[~under], before[~under])
    win.actions_["undo"].trigger()
    qtbot.keyClick(win.view, Qt.Key.Key_E)
    stroke(qtbot, win, points)
    assert (label_map(win)[under] == 0).all()


def test_brush_size_keys_and_outline(qtbot, semantic):
    win = semantic
    assert not win.view.brush_outline.isVisible()  # no outline before the mouse is over the image
    hover(win.view.viewport(), view_pos(win, 100.5, 100.5))
    assert win.view.brush_outline.rect().center().x() == pytest.approx(100.5)
    r = win.editor.radius
    qtbot.keyClick(win.view, Qt.Key.Key_BracketRight)
    assert win.editor.radius > r and win.toolbar.brush.value() == win.editor.radius
    qtbot.keyClick(win.view, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(win.view, Qt.Key.Key_BracketLeft)
    assert win.editor.radius < r
    outline = win.view.brush_outline
    assert outline.isVisible() and outline.rect().width() == pytest.approx(2 * win.editor.radius + 1)


def test_flood_fill_matches_cv2(qtbot, semantic):
    win = semantic
    before = label_map(win).copy()
    qtbot.keyClick(win.view, Qt.Key.Key_F)
    qtbot.keyClick(win.view, Qt.Key.Key_5)
    pos = view_pos(win, 120.5, 130.5)
    x, y = image_pixel(win, pos)
    qtbot.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    expected = before.copy()
    mask = np.zeros((before.shape[0] + 2, before.shape[1] + 2), np.uint8)
    cv2.floodFill(expected, mask, (x, y), 5, 0, 0, 4)
    assert np.array_equal(label_map(win), expected)
    win.actions_["undo"].trigger()
    assert np.array_equal(label_map(win), before)


def test_polygon_closes_with_enter_or_double_click_and_esc_cancels(qtbot, semantic):
    win = semantic
    before = label_map(win).copy()
    qtbot.keyClick(win.view, Qt.Key.Key_P)
    qtbot.keyClick(win.view, Qt.Key.Key_2)
    corners = [(40.5, 40.5), (140.5, 50.5), (120.5, 150.5), (50.5, 120.5)]
    vp = win.view.viewport()
    for x, y in corners[:2]:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=view_pos(win, x, y))
    qtbot.keyClick(win.view, Qt.Key.Key_Escape)
    assert np.array_equal(label_map(win), before)
    for x, y in corners:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=view_pos(win, x, y))
    qtbot.keyClick(win.view, Qt.Key.Key_Return)
    expected = before.copy()
    cv2.fillPoly(expected, [np.array([(int(x), int(y)) for x, y in corners], np.int32)], 2)
    assert np.array_equal(label_map(win), expected)
    win.actions_["undo"].trigger()
    for x, y in corners[:3]:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=view_pos(win, x, y))
    qtbot.mouseDClick(vp, Qt.MouseButton.LeftButton, pos=view_pos(win, *corners[3]))
    assert np.array_equal(label_map(win), expected)


def _inside(inst) -> tuple[float, float]:
    """A pixel centre inside the instance (the crop pixel nearest its centroid)."""
    ys, xs = np.nonzero(inst.mask.crop)
    k = np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2)
    return inst.mask.x0 + xs[k] + 0.5, inst.mask.y0 + ys[k] + 0.5


def test_select_delete_undo(qtbot, instances):
    win = instances
    layer = win.state.annotation.corrected
    n = len(layer.instances)
    target = max(layer.instances, key=lambda i: i.mask.area)
    qtbot.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, pos=view_pos(win, *_inside(target)))
    assert win.editor.selected == [target.id]
    qtbot.keyClick(win.view, Qt.Key.Key_Delete)
    assert len(layer.instances) == n - 1 and target.id not in [i.id for i in layer.instances]
    win.actions_["undo"].trigger()
    assert len(layer.instances) == n and layer.instance(target.id).mask == target.mask


def test_merge_and_class_key(qtbot, instances):
    win = instances
    layer = win.state.annotation.corrected
    a, b = sorted(layer.instances, key=lambda i: -i.mask.area)[:2]
    union = a.mask.to_full() | b.mask.to_full()
    vp = win.view.viewport()
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=view_pos(win, *_inside(a)))
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     pos=view_pos(win, *_inside(b)))
    assert win.editor.selected == [a.id, b.id]
    qtbot.keyClick(win.view, Qt.Key.Key_M)
    merged = layer.instance(a.id)
    assert np.array_equal(merged.mask.to_full(), union) and b.id not in [i.id for i in layer.instances]
    qtbot.keyClick(win.view, Qt.Key.Key_2)
    assert layer.instance(a.id).class_id == 2 and win.state.current_class == 2
    win.actions_["undo"].trigger()
    assert layer.instance(a.id).class_id == a.class_id


def test_new_instance_with_brush_and_erase_it_away(qtbot, instances):
    win = instances
    layer = win.state.annotation.corrected
    n = len(layer.instances)
    qtbot.keyClick(win.view, Qt.Key.Key_B)
    qtbot.keyClick(win.view, Qt.Key.Key_N)
    points = [view_pos(win, 20, 20), view_pos(win, 40, 30)]
    stroke(qtbot, win, points)
    assert len(layer.instances) == n + 1
    new = layer.instances[-1]
    assert new.class_id == win.state.current_class and win.editor.selected == [new.id]
    h, w = win.state.annotation.height, win.state.annotation.width
    expected = np.zeros((h, w), bool)
    pix = [image_pixel(win, p) for p in points]
    for a, b in ((pix[0], pix[0]), (pix[0], pix[1])):
        x0, y0, crop = capsule(a, b, win.editor.radius, h, w)
        expected[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] |= crop
    assert np.array_equal(new.mask.to_full(), expected)
    win.editor.set_radius(40)
    stroke(qtbot, win, [view_pos(win, 30, 25), view_pos(win, 31, 25)], button=Qt.MouseButton.RightButton)
    assert len(layer.instances) == n  # erased to nothing: removed with the stroke
    win.actions_["undo"].trigger()
    assert len(layer.instances) == n + 1
