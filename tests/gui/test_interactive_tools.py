"""Click-to-segment tools driven end to end with real mouse and key events on real images: box
(GrabCut), magic wand, scribbles and edge-snapping scissors. Each test checks the preview is the mask
core.interactive makes for the same prompt, that Enter commits exactly the previewed pixels as ONE
undo step, that Ctrl+Z restores the layer bit for bit, and that Esc cancels."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from maskwork.core.domain.annotation import Layer
from maskwork.core.domain.masks import Mask
from maskwork.core.interactive import segment
from maskwork.core.interactive.prompt import Prompt
from tests.gui.interactive_helpers import (
    CTRL,
    LEFT,
    NONE,
    RIGHT,
    SHIFT,
    WATER,
    box_of,
    click,
    drag,
    full,
    inner_point,
    key,
    steps,
    tool,
    wheel,
)
from tests.gui.window_helpers import hover, view_pos


# ---- box (GrabCut) -------------------------------------------------------------------------------
def test_box_semantic_preview_refine_commit_undo(qtbot, semantic):
    win = semantic
    key(qtbot, win, Qt.Key.Key_G)
    key(qtbot, win, Qt.Key.Key_5)  # water
    assert tool(win).name == "box" and win.statusBar().currentMessage().startswith("Box to mask (G)")
    before = np.zeros(win.truth.shape, np.uint8)
    a, b = (56.5, 1.5), (155.5, 293.5)
    drag(qtbot, win, a, b)
    prompt = Prompt(box=box_of(win, a, b))
    expected = segment("grabcut", win.state.image, prompt)
    preview = tool(win).preview
    assert preview.mask_visible() and len(preview.masks) == 1
    assert np.array_equal(full(preview.masks[0]), full(expected))
    river = win.truth == WATER
    assert expected.iou(Mask.from_full(river)) > 0.8  # the river, not the whole box
    # the preview is drawn over the mask's bbox only, in the class colour
    img = preview.mask_image()
    assert (img.width(), img.height()) == (expected.bbox[2], expected.bbox[3])
    # a right click removes: the clicked pixel leaves the mask, the prompt gains a negative point
    m = preview.masks[0]
    inside = inner_point(m)
    q = click(qtbot, win, inside, RIGHT)
    assert tool(win).prompt.points == [(*q, False)]
    assert not full(preview.masks[0])[q[1], q[0]]
    refined = segment("grabcut", win.state.image, Prompt(box=prompt.box, points=[(*q, False)]))
    assert np.array_equal(full(preview.masks[0]), full(refined))
    key(qtbot, win, Qt.Key.Key_Backspace)  # takes the click back
    assert np.array_equal(full(preview.masks[0]), full(expected)) and steps(win) == 0
    assert win.state.annotation.corrected.label_map is None  # nothing written before Enter
    key(qtbot, win, Qt.Key.Key_Return)
    after = win.state.annotation.corrected.label_map
    assert np.array_equal(after, np.where(full(expected), WATER, 0).astype(after.dtype))
    assert steps(win) == 1 and not preview.mask_visible() and tool(win).prompt is None
    key(qtbot, win, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(win.state.annotation.corrected.label_map, before)


def test_box_esc_cancels_and_strokes_refine(qtbot, semantic):
    win = semantic
    key(qtbot, win, Qt.Key.Key_G)
    click(qtbot, win, (100.5, 100.5))  # a click with no box yet: only a hint
    assert tool(win).prompt is None and "Drag a box" in win.statusBar().currentMessage()
    a, b = (56.5, 1.5), (155.5, 293.5)
    drag(qtbot, win, a, b)
    first = tool(win).preview.masks[0]
    drag(qtbot, win, (70.5, 150.5), (140.5, 160.5), RIGHT)  # a background stroke across the river
    stroke = tool(win).prompt.strokes[0]
    assert not stroke.positive and len(stroke.points) >= 2
    expected = segment("grabcut", win.state.image, Prompt(box=box_of(win, a, b), strokes=[stroke]))
    now = tool(win).preview.masks[0]
    assert np.array_equal(full(now), full(expected)) and not np.array_equal(full(now), full(first))
    ys = [y for _, y in stroke.points]
    assert not full(now)[min(ys) : max(ys) + 1, stroke.points[0][0]].any() or now.area < first.area
    key(qtbot, win, Qt.Key.Key_Escape)
    assert tool(win).prompt is None and not tool(win).preview.mask_visible() and not tool(win).preview.prompt_items()
    key(qtbot, win, Qt.Key.Key_Return)  # nothing pending: Enter does nothing
    assert win.state.annotation.corrected.label_map is None and steps(win) == 0
    drag(qtbot, win, a, b)
    win.next_image()  # switching images drops the preview: it belongs to the old image
    assert win.state.current_name != win.truth_name and tool(win).prompt is None
    assert not tool(win).preview.mask_visible() and not tool(win).preview.prompt_items()


def test_box_instance_new_then_extend_and_cut_the_selection(qtbot, instances):
    win = instances
    layer = win.state.annotation.corrected
    # a prediction exists, so Ctrl+Enter would "accept prediction" if the tool did not take the key
    win.state.annotation.prediction = Layer(instances=[])
    key(qtbot, win, Qt.Key.Key_G)
    n1, n2 = win.truth[0], win.truth[1]
    a, b = (n1.x0 - 3.5, n1.y0 - 3.5), (n1.x1 + 3.5, n1.y1 + 3.5)
    drag(qtbot, win, a, b)
    first = tool(win).preview.masks[0]
    assert np.array_equal(full(first), full(segment("grabcut", win.state.image, Prompt(box=box_of(win, a, b)))))
    assert first.iou(n1) > 0.7
    key(qtbot, win, Qt.Key.Key_Return)
    assert len(layer.instances) == 1 and np.array_equal(full(layer.instances[0].mask), full(first))
    new_id = layer.instances[0].id
    assert layer.instances[0].class_id == win.state.current_class and win.editor.selected == [new_id]
    # Shift+Enter: the second nucleus is added to the selected instance
    drag(qtbot, win, (n2.x0 - 3.5, n2.y0 - 3.5), (n2.x1 + 3.5, n2.y1 + 3.5))
    second = tool(win).preview.masks[0]
    key(qtbot, win, Qt.Key.Key_Return, SHIFT)
    assert len(layer.instances) == 1
    assert np.array_equal(full(layer.instance(new_id).mask), full(first) | full(second))
    # Ctrl+Enter: cut the second nucleus out again (the window shortcut Ctrl+Return is not triggered)
    drag(qtbot, win, (n2.x0 - 3.5, n2.y0 - 3.5), (n2.x1 + 3.5, n2.y1 + 3.5))
    key(qtbot, win, Qt.Key.Key_Return, CTRL)
    assert np.array_equal(full(layer.instance(new_id).mask), full(first) & ~full(second))
    assert win.state.annotation.prediction is not None and len(layer.instances) == 1
    assert steps(win) == 3
    key(qtbot, win, Qt.Key.Key_Z, CTRL)
    key(qtbot, win, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(full(layer.instance(new_id).mask), full(first))
    key(qtbot, win, Qt.Key.Key_Z, CTRL)
    assert layer.instances == []


def test_extend_without_a_selection_keeps_the_preview(qtbot, instances):
    win = instances
    key(qtbot, win, Qt.Key.Key_G)
    n1 = win.truth[0]
    drag(qtbot, win, (n1.x0 - 3.5, n1.y0 - 3.5), (n1.x1 + 3.5, n1.y1 + 3.5))
    key(qtbot, win, Qt.Key.Key_Return, SHIFT)
    assert win.state.annotation.corrected.instances == [] and tool(win).preview.mask_visible()
    assert "Select one instance" in win.statusBar().currentMessage()
    qtbot.mouseDClick(win.view.viewport(), LEFT, NONE, view_pos(win, *inner_point(n1)))  # double-click commits
    assert len(win.state.annotation.corrected.instances) == 1 and steps(win) == 1


# ---- magic wand ----------------------------------------------------------------------------------
def test_wand_tolerance_wheel_slider_shift_click_commit_undo(qtbot, semantic):
    win = semantic
    key(qtbot, win, Qt.Key.Key_W)
    key(qtbot, win, Qt.Key.Key_5)
    assert win.toolbar.tolerance_action.isVisible()
    p = (107.5, 60.5)
    q = click(qtbot, win, p)
    wand = tool(win)
    t0 = wand.tolerance()
    expected = segment("wand", win.state.image, Prompt(points=[(*q, True)], tolerance=t0))
    assert np.array_equal(full(wand.preview.masks[0]), full(expected)) and expected.area > 100
    wheel(win, p, -4, CTRL)  # stricter: the region shrinks, the slider follows, the view does not zoom
    zoom = win.view.zoom()
    t1 = wand.tolerance()
    assert t1 == pytest.approx(t0 - 0.2) and win.toolbar.tolerance.value() == round(t1 * 100)
    strict = segment("wand", win.state.image, Prompt(points=[(*q, True)], tolerance=t1))
    assert np.array_equal(full(wand.preview.masks[0]), full(strict)) and strict.area < expected.area
    win.toolbar.tolerance.setValue(90)  # the slider changes it live too
    loose = segment("wand", win.state.image, Prompt(points=[(*q, True)], tolerance=0.9))
    assert wand.tolerance() == 0.9 and np.array_equal(full(wand.preview.masks[0]), full(loose))
    assert loose.area > strict.area
    wheel(win, p, 1)  # no modifier: the wheel still zooms
    assert win.view.zoom() > zoom and wand.tolerance() == 0.9
    win.view.fit()
    q2 = click(qtbot, win, (112.5, 230.5), LEFT, SHIFT)  # Shift+click adds a second seed
    assert wand.prompt.points == [(*q, True), (*q2, True)]
    both = segment("wand", win.state.image, Prompt(points=[(*q, True), (*q2, True)], tolerance=0.9))
    assert np.array_equal(full(wand.preview.masks[0]), full(both))
    key(qtbot, win, Qt.Key.Key_Return)
    after = win.state.annotation.corrected.label_map
    assert np.array_equal(after, np.where(full(both), WATER, 0).astype(after.dtype)) and steps(win) == 1
    key(qtbot, win, Qt.Key.Key_Z, CTRL)
    assert not win.state.annotation.corrected.label_map.any()


def test_wand_plain_click_starts_over_and_shift_enter_keeps_labels(qtbot, semantic):
    win = semantic
    win.editor._label_map()[:, :100] = 2  # land already labelled on the left
    key(qtbot, win, Qt.Key.Key_W)
    key(qtbot, win, Qt.Key.Key_5)
    click(qtbot, win, (20.5, 20.5))
    q = click(qtbot, win, (107.5, 60.5))  # a plain click replaces the first region
    assert tool(win).prompt.points == [(*q, True)]
    mask = full(tool(win).preview.masks[0])
    key(qtbot, win, Qt.Key.Key_Return, SHIFT)  # semantic Shift: only unlabeled pixels
    after = win.state.annotation.corrected.label_map
    assert (after[:, :100] == 2).all()
    right = np.zeros_like(mask)
    right[:, 100:] = mask[:, 100:]
    assert right.any() and (after[right] == WATER).all() and not after[:, 100:][~mask[:, 100:]].any()


# ---- scribbles -----------------------------------------------------------------------------------
def test_scribble_instance_foreground_background_commit_undo(qtbot, instances):
    win = instances
    key(qtbot, win, Qt.Key.Key_K)
    n1 = win.truth[0]
    cx, cy = inner_point(n1)
    drag(qtbot, win, (n1.x0 - 6.5, cy), (n1.x0 - 6.5, cy + 8), RIGHT)  # background first: no preview yet
    scribble = tool(win)
    assert scribble.prompt is not None and scribble.mask is None and not scribble.preview.mask_visible()
    assert "scribble on the object" in win.statusBar().currentMessage()
    drag(qtbot, win, (cx - 3, cy), (cx + 3, cy))
    strokes = scribble.prompt.strokes
    assert [s.positive for s in strokes] == [False, True]
    expected = segment("scribble", win.state.image, Prompt(strokes=strokes))
    assert np.array_equal(full(scribble.preview.masks[0]), full(expected)) and expected.iou(n1) > 0.5
    key(qtbot, win, Qt.Key.Key_Return)
    layer = win.state.annotation.corrected
    assert len(layer.instances) == 1 and np.array_equal(full(layer.instances[0].mask), full(expected))
    key(qtbot, win, Qt.Key.Key_Z, CTRL)
    assert layer.instances == [] and steps(win) == 1


# ---- edge-snapping scissors ----------------------------------------------------------------------
def test_scissors_live_segment_close_commit_undo(qtbot, instances):
    win = instances
    key(qtbot, win, Qt.Key.Key_I)
    n1 = win.truth[0]
    x0, y0, x1, y1 = n1.x0 - 1.5, n1.y0 - 1.5, n1.x1 + 0.5, n1.y1 + 0.5
    scissors = tool(win)
    click(qtbot, win, (x0, y0))
    hover(win.view.viewport(), view_pos(win, x1, y0))
    qtbot.waitUntil(lambda: len(scissors.live) >= 2)  # the live segment follows the cursor (throttled)
    assert scissors.live[0] == scissors.vertices[0] and scissors.preview.prompt_items()
    for p in ((x1, y0), (x1, y1)):
        click(qtbot, win, p)
    key(qtbot, win, Qt.Key.Key_Backspace)  # remove the last point, then put it back
    assert len(scissors.vertices) == 2
    click(qtbot, win, (x1, y1))
    click(qtbot, win, (x0, y1))
    outline = scissors.outline()
    assert len(scissors.vertices) == 4 and len(outline) >= 4
    key(qtbot, win, Qt.Key.Key_Return)
    layer = win.state.annotation.corrected
    assert len(layer.instances) == 1 and not scissors.preview.prompt_items()
    mask = layer.instances[0].mask
    assert mask.iou(n1) > 0.6  # the outline hugs the nucleus
    assert all(full(mask)[y, x] for x, y in outline)  # the snapped path is inside what was committed
    key(qtbot, win, Qt.Key.Key_Z, CTRL)
    assert layer.instances == []
    # Esc cancels; a double-click closes
    click(qtbot, win, (x0, y0))
    key(qtbot, win, Qt.Key.Key_Escape)
    assert not scissors.vertices and not scissors.preview.prompt_items()
    for p in ((x0, y0), (x1, y0), (x1, y1)):
        click(qtbot, win, p)
    qtbot.mouseDClick(win.view.viewport(), LEFT, NONE, view_pos(win, x0, y1))
    assert len(layer.instances) == 1 and steps(win) == 1
