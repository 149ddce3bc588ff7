"""Window features of issue 12/14 behind the action table's "features.*" handlers: the reviewed mark
(gui/controllers/review.py), Edit > Preferences (gui/preferences.py), View > Brightness / contrast (the Image panel) and
Help > Open log folder (core/logs.py).
MainWindow builds one Features object; everything else is wired from here."""
from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from maskwork.core import logs
from maskwork.gui import docks, preferences
from maskwork.gui.controllers.review import ReviewController
from maskwork.gui.refine_action import RefineController

TONE_PANEL = "Image"  # gui/docks.PANELS title of gui/panels/tone_panel.py


class Features:
    def __init__(self, window) -> None:
        self.window = window
        self.review = ReviewController(window)
        self.refine = RefineController(window)  # Edit > Refine (gui/refine_action.py, issue 21)
        self.preferences_dialog = None
        preferences.apply_all(window)
        # the preferred tool once the toolbar has enabled the task's tools (connected after it)
        window.state.project_changed.connect(lambda: preferences.pick_preferred_tool(window))

    def open_preferences(self):
        from maskwork.gui.dialogs.preferences import PreferencesDialog

        if self.preferences_dialog is None:
            self.preferences_dialog = PreferencesDialog(self.window)
        self.preferences_dialog.show_values()
        self.preferences_dialog.show()
        self.preferences_dialog.raise_()
        return self.preferences_dialog

    def show_tone_panel(self):
        """View > Brightness / contrast: the Image panel, brought up from behind the IoU tab."""
        dock = docks.bring_up(self.window, TONE_PANEL)
        if dock is None:
            self.window.state.status_message.emit("The Image panel is not loaded: see the status bar at start-up "
                                                  "or the log (Help > Open log folder).")
        return dock

    def open_log_folder(self) -> bool:
        folder = logs.log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self.window.state.status_message.emit(f"Log file: {logs.log_path()}")
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
