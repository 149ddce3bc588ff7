"""Accept what the model already found (the Accept tool, Y): a click keeps one predicted instance or
region, Shift+click collects several for one Enter; plus the toolbar entries of the click-to-segment
tools and the read-only guard, driven with real events on real images."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from scipy import ndimage

from maskwork.core.domain.annotation import Instance, Layer, Source
from tests.gui.interactive_helpers import CTRL, LEFT, SHIFT, click, inner_point, key, steps, tool


# ---- accept what the model found ------------------------------------------------------------------
def test_accept_predicted_instances_click_and_shift_click(qtbot, instances):
    win = instances
    ann = win.state.annotation
    ann.prediction = Layer(instances=[Instance(100 + k, 1, m, score=0.8, source=Source.MODEL)
                                      for k, m in enumerate(win.truth)])
    win.state.prediction_changed.emit()
    key(qtbot, win, Qt.Key.Key_Y)
    assert "Accept (Y)" in win.statusBar().currentMessage()
    click(qtbot, win, inner_point(win.truth[0]))
    layer = ann.corrected
    assert len(layer.instances) == 1 and layer.instances[0].mask is win.truth[0] and steps(win) == 1
    click(qtbot, win, inner_point(win.truth[0]))  # again: nothing new
    assert len(layer.instances) == 1 and steps(win) == 1
    for m in win.truth[1:4]:
        click(qtbot, win, inner_point(m), LEFT, SHIFT)
    click(qtbot, win, inner_point(win.truth[3]), LEFT, SHIFT)  # Shift+click again drops it
    accept = tool(win)
    assert accept.preview.masks == win.truth[1:3] and len(layer.instances) == 1
    key(qtbot, win, Qt.Key.Key_Return)
    assert [i.mask for i in layer.instances] == win.truth[:3] and steps(win) == 2
    assert all(i.source == Source.MODEL for i in layer.instances) and not accept.preview.mask_visible()
    click(qtbot, win, (1.5, 1.5))  # background: nothing predicted
    assert len(layer.instances) == 3 and "Nothing new" in win.statusBar().currentMessage()
    key(qtbot, win, Qt.Key.Key_Z, CTRL)
    assert [i.mask for i in layer.instances] == win.truth[:1]


def test_accept_predicted_region_semantic(qtbot, semantic):
    win = semantic
    ann = win.state.annotation
    ann.prediction = Layer(win.truth.copy())
    win.state.prediction_changed.emit()
    key(qtbot, win, Qt.Key.Key_Y)
    q = click(qtbot, win, (107.5, 60.5))
    labels, _ = ndimage.label(win.truth == win.truth[q[1], q[0]], structure=np.ones((3, 3)))
    component = labels == labels[q[1], q[0]]
    after = ann.corrected.label_map
    assert np.array_equal(after, np.where(component, win.truth[q[1], q[0]], 0).astype(after.dtype))
    assert steps(win) == 1 and component.sum() < (win.truth > 0).sum()  # just that region
    key(qtbot, win, Qt.Key.Key_Z, CTRL)
    assert not ann.corrected.label_map.any()


# ---- toolbar -------------------------------------------------------------------------------------
def test_tool_keys_hints_and_no_shortcut_clash(qtbot, semantic):
    win = semantic
    for k, name in ((Qt.Key.Key_G, "box"), (Qt.Key.Key_W, "wand"), (Qt.Key.Key_K, "scribble"),
                    (Qt.Key.Key_I, "scissors"), (Qt.Key.Key_Y, "accept")):
        key(qtbot, win, k)
        assert tool(win).name == name and win.statusBar().currentMessage() == tool(win).hint
        assert win.toolbar.tool_actions[name].toolTip() == tool(win).tooltip
        assert win.toolbar.tolerance_action.isVisible() == (name == "wand")
    keys = [s.toString() for a in win.actions() for s in a.shortcuts() if s.toString()]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def test_read_only_project_refuses_commit_and_accept(qtbot, semantic):
    win = semantic
    win.state.project.read_only = True  # another program writes it (tests/gui/test_read_only.py does it for real)
    key(qtbot, win, Qt.Key.Key_W)
    click(qtbot, win, (107.5, 60.5))
    key(qtbot, win, Qt.Key.Key_Return)
    assert win.state.annotation.corrected.label_map is None and steps(win) == 0
    assert tool(win).preview.mask_visible() and "Read-only" in win.statusBar().currentMessage()
    win.state.annotation.prediction = Layer(win.truth.copy())
    key(qtbot, win, Qt.Key.Key_Escape)
    key(qtbot, win, Qt.Key.Key_Y)
    click(qtbot, win, (107.5, 60.5))
    assert win.state.annotation.corrected.label_map is None and steps(win) == 0
