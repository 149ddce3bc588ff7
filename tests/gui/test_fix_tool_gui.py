"""The Box to mask tool fixes the selected object with clicks (core.interactive "fix"), driven with real mouse and
key events on a real nuclei image: the preview is core's mask for the same clicks, Enter makes it the object's
mask as ONE undo step, Ctrl+Z restores the object bit for bit, Esc leaves it as it was."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from maskwork.core.interactive import segment
from maskwork.core.interactive.clicks import next_click
from maskwork.core.interactive.prompt import Prompt
from tests.gui.interactive_helpers import CTRL, LEFT, RIGHT, click, drag, full, key, steps, tool


def _made_object(qtbot, win):
    """A nucleus made with a loose box (a rough mask, as a model's) and committed: it is selected."""
    key(qtbot, win, Qt.Key.Key_G)
    n1 = win.truth[0]
    drag(qtbot, win, (n1.x0 - 6.5, n1.y0 - 6.5), (n1.x1 + 6.5, n1.y1 + 6.5))
    key(qtbot, win, Qt.Key.Key_Return)
    layer = win.state.annotation.corrected
    assert len(layer.instances) == 1 and win.editor.selected == [layer.instances[0].id]
    return layer, layer.instances[0].id, layer.instances[0].mask, n1


def test_clicks_fix_the_selected_object_as_one_undo_step(qtbot, instances):
    win = instances
    layer, oid, made, truth = _made_object(qtbot, win)
    points = []
    for _ in range(2):  # the simulated user's corrective clicks, on the object as previewed
        shown = made if not points else tool(win).preview.masks[0]
        x, y, positive = next_click(truth, shown)
        points.append((*click(qtbot, win, (x + 0.5, y + 0.5), LEFT if positive else RIGHT), positive))
    preview = tool(win).preview.masks[0]
    expected = segment("fix", win.state.image, Prompt(mask=made, points=points))
    assert np.array_equal(full(preview), full(expected))
    assert layer.instance(oid).mask == made  # nothing changes before Enter
    key(qtbot, win, Qt.Key.Key_Return)
    assert len(layer.instances) == 1 and np.array_equal(full(layer.instance(oid).mask), full(expected))
    assert layer.instance(oid).mask.iou(truth) > made.iou(truth)
    assert steps(win) == 2
    key(qtbot, win, Qt.Key.Key_Z, CTRL)
    assert layer.instance(oid).mask == made


def test_esc_leaves_the_object_and_without_a_selection_a_click_asks_for_a_box(qtbot, instances):
    win = instances
    layer, oid, made, truth = _made_object(qtbot, win)
    x, y, positive = next_click(truth, made)
    click(qtbot, win, (x + 0.5, y + 0.5), LEFT if positive else RIGHT)
    assert tool(win).preview.mask_visible()
    key(qtbot, win, Qt.Key.Key_Escape)
    assert layer.instance(oid).mask == made and steps(win) == 1
    win.editor.set_selection([])
    click(qtbot, win, (x + 0.5, y + 0.5))
    assert not tool(win).active and "select one object" in win.statusBar().currentMessage()


def test_a_locked_object_is_not_fixed(qtbot, instances):
    win = instances
    layer, oid, made, truth = _made_object(qtbot, win)
    win.state.flags.set_locked(oid, True)
    x, y, positive = next_click(truth, made)
    click(qtbot, win, (x + 0.5, y + 0.5), LEFT if positive else RIGHT)
    key(qtbot, win, Qt.Key.Key_Return)
    assert layer.instance(oid).mask == made and steps(win) == 1
    assert "lock" in win.statusBar().currentMessage().lower()


def _gated(monkeypatch, request):
    """core's segmentation held until the gate opens: the click must have returned (the window free) before."""
    import threading

    import maskwork.core.interactive as interactive
    from maskwork.gui import image_loader

    monkeypatch.setattr(image_loader, "SYNC_MAX_PIXELS", 0)  # as on a 20 MP image: every click in a worker
    gate, real, calls = threading.Event(), interactive.segment, []

    def held(*args, **kwargs):
        calls.append(threading.current_thread() is threading.main_thread())
        assert gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(interactive, "segment", held)
    request.addfinalizer(gate.set)  # a failing test leaves no worker waiting
    return gate, calls


def test_on_a_big_image_clicks_run_in_a_worker_and_enter_keeps_the_last_clicks_result(qtbot, instances,
                                                                                       monkeypatch, request):
    win = instances
    layer, oid, made, truth = _made_object(qtbot, win)
    gate, calls = _gated(monkeypatch, request)
    x, y, positive = next_click(truth, made)
    first = click(qtbot, win, (x + 0.5, y + 0.5), LEFT if positive else RIGHT)
    qtbot.waitUntil(lambda: calls == [False], timeout=10000)  # a worker thread segments; the window got the click
    assert tool(win).mask is None
    second = click(qtbot, win, (x + 2.5, y + 0.5), LEFT if positive else RIGHT)  # while the first still runs
    key(qtbot, win, Qt.Key.Key_Return)  # before any result
    assert "as soon as it is ready" in win.statusBar().currentMessage()
    assert layer.instance(oid).mask == made and steps(win) == 1
    gate.set()
    qtbot.waitUntil(lambda: steps(win) == 2, timeout=30000)
    expected = segment("fix", win.state.image, Prompt(mask=made, points=[(*first, positive), (*second, positive)]))
    assert np.array_equal(full(layer.instance(oid).mask), full(expected))  # the newest clicks, not the first alone
    assert calls == [False, False] and not tool(win).active


def test_on_a_big_image_esc_while_segmenting_changes_nothing(qtbot, instances, monkeypatch, request):
    win = instances
    layer, oid, made, truth = _made_object(qtbot, win)
    gate, calls = _gated(monkeypatch, request)
    x, y, positive = next_click(truth, made)
    click(qtbot, win, (x + 0.5, y + 0.5), LEFT if positive else RIGHT)
    key(qtbot, win, Qt.Key.Key_Return)
    key(qtbot, win, Qt.Key.Key_Escape)
    gate.set()
    from maskwork.gui.workers import pool

    assert pool().waitForDone(30000)
    qtbot.wait(50)  # the finished signal is delivered (and dropped)
    assert layer.instance(oid).mask == made and steps(win) == 1 and not tool(win).active


def test_on_a_big_image_the_worker_paints_the_preview_as_the_window_would(qtbot, instances, monkeypatch):
    """The preview pixels come from the worker (a 3 MP mask took 40+ ms to paint on the GUI thread): the same
    pixels the window paints itself, and a class of another colour is painted anew."""
    from PySide6.QtGui import QImage

    from maskwork.core.view.render import mask_bgra
    from maskwork.gui import image_loader
    from maskwork.gui.canvas import preview_layer

    win = instances
    layer, oid, made, truth = _made_object(qtbot, win)
    monkeypatch.setattr(image_loader, "SYNC_MAX_PIXELS", 0)
    on_gui_thread = []
    monkeypatch.setattr(preview_layer, "mask_bgra", lambda *a: on_gui_thread.append(1) or mask_bgra(*a))
    x, y, positive = next_click(truth, made)
    click(qtbot, win, (x + 0.5, y + 0.5), LEFT if positive else RIGHT)
    qtbot.waitUntil(lambda: not tool(win).busy and tool(win).mask is not None, timeout=30000)
    assert not on_gui_thread  # painted in the worker

    def drawn() -> np.ndarray:
        img = tool(win).preview.mask_image().convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
        return np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)[
            :, :img.width()]

    mask = tool(win).mask
    assert np.array_equal(drawn(), mask_bgra(mask.crop, tool(win).class_rgb()))
    other = win.state.project.classes.add("other", "#00FF00")
    win.state.set_current_class(other.id)
    assert np.array_equal(drawn(), mask_bgra(mask.crop, other.rgb)) and len(on_gui_thread) == 1
