"""Panels (issue 12, defect 5): a closed Images or Classes panel comes back from the View menu, and
Window > Reset layout puts every panel back where it started."""
from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.window_helpers import aerial_classes


def test_closed_panels_come_back_from_the_view_menu(qtbot, window):
    view = {a.text(): a for a in window.menus["View"].actions()}
    for title in ("Images", "Classes"):
        dock = window.left_docks[title]
        dock.close()
        assert not dock.isVisible()
        view[title].trigger()
        assert dock.isVisible(), title


def test_every_docked_panel_is_in_the_view_menu(qtbot, monkeypatch):
    from maskwork.gui import docks
    from maskwork.gui.main_window import MainWindow

    monkeypatch.setattr(docks, "PANELS", [docks.PanelSpec("maskwork.gui.panels.classes_panel", "ClassesPanel", "Extra",
                                                          Qt.DockWidgetArea.RightDockWidgetArea, "a docked panel")])
    win = MainWindow()
    qtbot.addWidget(win)
    listed = {a.text() for a in win.menus["View"].actions()}
    assert {"Images", "Classes", "Extra"} <= listed


def test_reset_layout_restores_the_default_docks(qtbot, window, aerial_folder, aerial_dir):
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    images, classes = window.left_docks["Images"], window.left_docks["Classes"]
    images.close()
    classes.setFloating(True)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, classes)
    assert window.dockWidgetArea(classes) == Qt.DockWidgetArea.RightDockWidgetArea
    reset = {a.text().replace("&", ""): a for a in window.menus["Window"].actions()}["Reset layout"]
    reset.trigger()
    for dock in (images, classes):
        assert dock.isVisible() and not dock.isFloating()
        assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.LeftDockWidgetArea
