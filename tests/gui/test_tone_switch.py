"""A brightness/contrast/gamma setting and switching between big images (issue 12 gap): the tone is
applied in the loading worker with the decode (no stall on the GUI thread), the shown picture has the
tone after the switch, and a setting changed while an image loads is the one shown. Real aerial tiles
(1817 x 2061, above gui.image_loader.SYNC_MAX_PIXELS)."""
from __future__ import annotations

import threading

import numpy as np

from maskwork.core.view.tone import Tone, apply_tone
from maskwork.gui.panels.tone_panel import TonePanel
from tests.gui.test_no_stall import BIG, aerial_big  # noqa: F401  (fixture)
from tests.gui.test_preferences import pixmap_array


class Recording:
    """The tone panel's transform, recording on which thread it runs (a new frozen object, as the panel's)."""

    def __init__(self, display) -> None:
        self.display, self.on_main_thread = display, []

    def __call__(self, rgb):
        self.on_main_thread.append(threading.current_thread() is threading.main_thread())
        return self.display(rgb)


def test_the_tone_is_applied_in_the_worker_and_shown_after_a_switch(qtbot, window, aerial_big):  # noqa: F811
    assert window.session.open_path(aerial_big)
    assert window.session.loader.wait()
    panel = TonePanel(window.state, window)
    qtbot.addWidget(panel)
    panel.sliders["gamma"].setValue(250)
    panel.sliders["contrast"].setValue(150)
    tone = panel.tone
    assert tone == Tone(0.0, 1.5, 2.5)
    qtbot.waitUntil(lambda: not panel._redraw.isActive())  # the slider's own redraw of the image shown
    spy = window.view.image_item.display = Recording(window.view.image_item.display)
    for name in BIG[:2]:
        window.session.open_image(name)
        assert window.session.loader.wait() and window.state.current_name == name
        assert np.array_equal(pixmap_array(window), apply_tone(window.state.image, tone))
    assert spy.on_main_thread == [False, False]  # once per switch, never on the GUI thread
    assert not np.array_equal(window.state.image, pixmap_array(window))  # the data itself is untouched


def test_a_tone_changed_while_loading_is_the_one_shown(qtbot, window, aerial_big):  # noqa: F811
    assert window.session.open_path(aerial_big)
    assert window.session.loader.wait()
    panel = TonePanel(window.state, window)
    qtbot.addWidget(panel)
    panel.sliders["gamma"].setValue(200)
    window.session.open_image(BIG[1])
    panel.sliders["brightness"].setValue(-20)  # meanwhile: the worker's picture has the old setting
    assert window.session.loader.wait() and window.state.current_name == BIG[1]
    assert np.array_equal(pixmap_array(window), apply_tone(window.state.image, Tone(-0.2, 1.0, 2.0)))
    panel.reset_button.click()
    window.session.open_image(BIG[2])
    assert window.session.loader.wait()
    assert window.view.image_item.display is None
    assert np.array_equal(pixmap_array(window), window.state.image)
