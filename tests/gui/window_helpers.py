"""Fixtures for the main-window tests: small real images copied from ../shared/datasets into tmp_path,
and a MainWindow without the dockable panels (they load models; tested on their own)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, QStandardPaths, Qt

from maskwork.core.domain.annotation import ClassList

NUCLEI_NAMES = 3
AERIAL_SIDE = 320  # aerial images are cropped to this size to keep tests fast


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch, tmp_path):
    """QSettings / AppData go to Qt's test locations, never the developer's real settings."""
    QStandardPaths.setTestModeEnabled(True)
    from PySide6.QtCore import QSettings

    QSettings().clear()
    yield


@pytest.fixture(autouse=True)
def no_modal_dialogs(monkeypatch):
    """A modal dialog would block the test run forever: fail loudly instead."""
    from PySide6.QtWidgets import QDialog, QMessageBox

    def refuse(*args, **kwargs):
        raise AssertionError(f"unexpected modal dialog: {args[1:3] if len(args) > 1 else args}")

    for name in ("question", "information", "warning", "critical"):
        monkeypatch.setattr(QMessageBox, name, refuse)
    monkeypatch.setattr(QMessageBox, "exec", refuse)
    monkeypatch.setattr(QDialog, "exec", refuse)


@pytest.fixture
def nuclei_folder(tmp_path, nuclei_val) -> Path:
    """The first few 256x256 nuclei val images in a plain folder."""
    doc = json.loads(nuclei_val.read_text())
    small = [i for i in doc["images"] if (i["width"], i["height"]) == (256, 256)][:NUCLEI_NAMES]
    folder = tmp_path / "nuclei"
    folder.mkdir()
    for img in small:
        shutil.copy(nuclei_val.parent / "images" / img["file_name"], folder / img["file_name"])
    sub = {"images": small, "categories": doc["categories"],
           "annotations": [a for a in doc["annotations"] if a["image_id"] in {i["id"] for i in small}]}
    (tmp_path / "nuclei_gt.json").write_text(json.dumps(sub))
    return folder


@pytest.fixture
def aerial_folder(tmp_path, aerial_dir) -> Path:
    """Two aerial images (and their masks) cropped to AERIAL_SIDE, as PNG."""
    folder = tmp_path / "aerial"
    masks = tmp_path / "aerial_masks"
    folder.mkdir()
    masks.mkdir()
    for src in sorted((aerial_dir / "images").glob("*.jpg"))[:2]:
        box = (0, 0, AERIAL_SIDE, AERIAL_SIDE)
        Image.open(src).convert("RGB").crop(box).save(folder / (src.stem + ".png"))
        Image.open(aerial_dir / "masks" / (src.stem + ".png")).crop(box).save(masks / (src.stem + ".png"))
    shutil.copy(aerial_dir / "classes.json", masks / "classes.json")
    return folder


def aerial_classes(aerial_dir) -> ClassList:
    return ClassList.from_list(json.loads((aerial_dir / "classes.json").read_text()))


@pytest.fixture
def window(qtbot, monkeypatch):
    from maskwork.gui import docks
    from maskwork.gui.main_window import MainWindow

    monkeypatch.setattr(docks, "PANELS", [])
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    win.session.close_project = lambda: True  # no prompt when pytest-qt closes it (a test may del this)
    win.toolbar.select("brush")  # tests paint with stroke(); the app itself starts on Pan (issue 12)
    yield win


def view_pos(window, x: float, y: float) -> QPoint:
    """Viewport position of image point (x, y)."""
    p = window.view.viewportTransform().map(QPointF(x, y))
    return QPoint(round(p.x()), round(p.y()))


def image_pixel(window, pos: QPoint) -> tuple[int, int]:
    import math

    p = window.view.to_scene(QPointF(pos))
    return math.floor(p.x()), math.floor(p.y())


def stroke(qtbot, window, points: list[QPoint], button=Qt.MouseButton.LeftButton) -> None:
    vp = window.view.viewport()
    qtbot.mousePress(vp, button, pos=points[0])
    for p in points[1:]:
        qtbot.mouseMove(vp, p)
    qtbot.mouseRelease(vp, button, pos=points[-1])


def label_map(window) -> np.ndarray:
    return window.state.annotation.corrected.label_map


def wait_job(qtbot, job, timeout: int = 30000):
    """Wait for a FileOps job to end; fail with its error message if it did not finish."""
    qtbot.waitUntil(lambda: job.outcome is not None, timeout=timeout)
    assert job.outcome[0] == "finished", job.outcome
    return job.outcome[1]


def hover(widget, pos: QPoint) -> None:
    """A real mouse-move event (no button) delivered to `widget` at `pos`.

    QTest.mouseMove goes through the platform cursor and sends nothing when the offscreen cursor
    already sits there or another test's window holds it; hovering must not depend on that.
    """
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    local = QPointF(pos)
    event = QMouseEvent(QEvent.Type.MouseMove, local, QPointF(widget.mapToGlobal(pos)),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)
