"""A layout saved while content could still widen a side dock (the IoU headline before it wrapped) must not
bring the canvas back behind a scrollbar after a restart: restoring narrows such docks."""
from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from maskwork.gui import docks


def _window(qtbot):
    from maskwork.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1280, 720)
    win.show()
    qtbot.waitExposed(win)
    win.session.close_project = lambda: True
    return win


def test_a_saved_too_wide_dock_comes_back_narrowed(qtbot):
    first = _window(qtbot)
    iou = first.panel_docks["IoU"]
    first.resizeDocks([iou], [int(first.width() * 0.6)], Qt.Orientation.Horizontal)
    QApplication.processEvents()
    assert iou.width() > first.width() * docks.MAX_SIDE_SHARE  # what the old headline did, saved as the layout
    QSettings().setValue("main_window/geometry", first.saveGeometry())
    QSettings().setValue("main_window/state", first.saveState())
    first.close()

    second = _window(qtbot)
    dock = second.panel_docks["IoU"]
    qtbot.waitUntil(lambda: dock.width() <= second.width() * docks.MAX_SIDE_SHARE + 2, timeout=5000)
    assert second.view.width() >= second.width() * 0.4
