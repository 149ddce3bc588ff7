"""Compare window as a new user opens it (issue 12, defect 3): it opens comparing the project's model
float vs int8 on the current image, closes with Close / Esc / Ctrl+W, and draws the project's colours."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from maskwork.gui.compare.window import CompareWindow
from maskwork.gui.state import AppState
from tests.gui.panels_support import make_nuclei_project, open_image, open_project

WAIT_MS = 240_000
PROJECT_NUCLEUS = "#00C853"  # not the bundled model's own nucleus colour


@pytest.fixture
def state(tmp_path, nuclei_val, isolated_config):
    project = make_nuclei_project(tmp_path / "proj", nuclei_val, "semantic", n=2)
    project.classes.recolor(1, PROJECT_NUCLEUS)
    state = AppState()
    open_project(state, project)
    open_image(state, project.image_names()[0])
    return state


def test_it_opens_comparing_the_project_model_float_vs_int8_in_project_colours(qtbot, state):
    assert state.model_name is None  # the model panel has not picked one: the project's default is used
    win = CompareWindow(state)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.outcome is not None or bool(win.jobs.last_error), timeout=WAIT_MS)
    assert not win.jobs.last_error
    out = win.outcome
    assert (out.a.label, out.b.label) == ("nuclei-semantic (float)", "nuclei-semantic (int8)")
    assert win.stats_a.text() != "A: -" and "ms" in win.stats_b.text()
    assert out.a.result.classes.get(1).color != PROJECT_NUCLEUS  # the model brings its own colours
    # the overlay of A draws nucleus pixels in the project's colour
    from PySide6.QtGui import QColor

    got = win.view_a.overlay_item.pixmap().toImage()
    ys, xs = np.nonzero(out.a.result.label_map == 1)
    assert len(ys) > 0
    want = QColor(PROJECT_NUCLEUS)
    for y, x in list(zip(ys, xs))[:: max(1, len(ys) // 20)]:
        c = got.pixelColor(int(x), int(y))  # un-premultiplied
        assert c.alpha() > 0
        assert (c.red(), c.green(), c.blue()) == pytest.approx((want.red(), want.green(), want.blue()), abs=3)


def test_close_button_esc_and_ctrl_w_close_it(qtbot, state):
    def fresh():
        win = CompareWindow(state)
        qtbot.addWidget(win)
        win._listed = True  # no model listing or comparison: only closing is tested here
        win.show()
        qtbot.waitExposed(win)
        win.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is win)  # shortcuts go to the active window
        return win

    win = fresh()
    win.close_button.click()
    assert not win.isVisible()
    win = fresh()
    qtbot.keyClick(win, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert not win.isVisible()
    win = fresh()
    win.picker_a.combo.setFocus()  # Esc while a child (the model list) has the focus
    qtbot.keyClick(win.picker_a.combo, Qt.Key.Key_Escape)
    assert not win.isVisible()
