"""Fixtures and mouse/key helpers for the click-to-segment GUI tests (test_interactive_tools.py,
test_accept_tool.py): a semantic aerial crop and a nuclei instance image, both with an empty correction
and their real masks kept aside as `window.truth`."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from scipy import ndimage

from maskwork.core.domain.masks import Mask
from maskwork.core.formats.coco import load_coco
from tests.gui.window_helpers import aerial_classes, image_pixel, view_pos

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
NONE, SHIFT, CTRL = (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier,
                     Qt.KeyboardModifier.ControlModifier)
NUCLEI_IMAGE = "0acd2c223d300ea5.png"  # fluorescence nuclei, well separated
WATER = 5  # aerial class id; tile1_001's top-left crop has a river at x 58..153


# ---- fixtures ------------------------------------------------------------------------------------
@pytest.fixture
def semantic(window, aerial_folder, aerial_dir, tmp_path):
    """The first aerial crop (tile1_001) with an empty correction; its real label map is window.truth."""
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    window.truth_name = window.state.current_name
    window.truth = np.array(Image.open(tmp_path / "aerial_masks" / window.truth_name))
    window.view.fit()
    window.view.setFocus()
    return window


@pytest.fixture
def instances(window, nuclei_folder, tmp_path):
    """A nuclei image with an empty correction; its real masks are kept aside (window.truth)."""
    gt = load_coco(tmp_path / "nuclei_gt.json")
    assert window.session.open_path(nuclei_folder, task="instance", classes=gt.classes.copy())
    window.session.open_image(NUCLEI_IMAGE)
    truth = next(a for a in gt.annotations if a.file_name == NUCLEI_IMAGE)
    window.truth = sorted((i.mask for i in truth.corrected.instances), key=lambda m: -m.area)
    window.view.fit()
    window.view.setFocus()
    return window


# ---- helpers -------------------------------------------------------------------------------------
def drag(qtbot, win, a, b, button=LEFT, mods=NONE, steps: int = 4) -> None:
    """Press at image point a, move to b in steps, release there."""
    vp = win.view.viewport()
    qtbot.mousePress(vp, button, mods, view_pos(win, *a))
    for k in range(1, steps + 1):
        t = k / steps
        qtbot.mouseMove(vp, view_pos(win, a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
    qtbot.mouseRelease(vp, button, mods, view_pos(win, *b))


def click(qtbot, win, p, button=LEFT, mods=NONE) -> tuple[int, int]:
    pos = view_pos(win, *p)
    qtbot.mouseClick(win.view.viewport(), button, mods, pos)
    return image_pixel(win, pos)


def key(qtbot, win, k, mods=NONE) -> None:
    qtbot.keyClick(win.view, k, mods)  # through the shortcut map, as a real key press


def wheel(win, p, notches: int, mods=NONE) -> None:
    vp = win.view.viewport()
    pos = view_pos(win, *p)
    event = QWheelEvent(QPointF(pos), QPointF(vp.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, mods, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, event)


def box_of(win, a, b) -> tuple[int, int, int, int]:
    """The box the tool makes from a drag between image points a and b (pixels as the view maps them)."""
    (x0, y0), (x1, y1) = image_pixel(win, view_pos(win, *a)), image_pixel(win, view_pos(win, *b))
    return min(x0, x1), min(y0, y1), max(x0, x1) + 1, max(y0, y1) + 1


def full(mask: Mask) -> np.ndarray:
    return mask.to_full()


def steps(win) -> int:  # undo steps of the current image
    return win.editor.undo.activeStack().count()


def tool(win):
    return win.view.tool


def inner_point(mask: Mask) -> tuple[float, float]:
    """Pixel centre deep inside the mask (largest distance to its border)."""
    dist = ndimage.distance_transform_edt(np.pad(mask.crop, 1))[1:-1, 1:-1]
    y, x = np.unravel_index(np.argmax(dist), dist.shape)
    return mask.x0 + x + 0.5, mask.y0 + y + 0.5
