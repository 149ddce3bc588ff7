"""Child of bench/bench_quit.py: the real app (gui/app.run_app) on a project; once it is open, it starts
the work of SCENARIO, waits QUIT_AFTER seconds, prints "QUIT <time>" and closes the window as Ctrl+Q does.

SCENARIO: idle (nothing running) | runall ("Run on all images" in progress) | int8 (int8 build in progress).
"""
from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from maskwork.gui import app as app_module
from maskwork.gui.main_window import MainWindow

START = {"idle": lambda panel: None,
         "runall": lambda panel: panel.run_all_button.click(),
         "int8": lambda panel: panel.int8_box.setChecked(True)}


def probe(_app):
    scenario, after = os.environ.get("SCENARIO", "idle"), float(os.environ.get("QUIT_AFTER", "2"))

    def ready() -> None:
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
        panel = window.panel_docks["Model"].widget()

        def quit_now() -> None:
            print(f"QUIT {time.time():.4f}", flush=True)
            window.actions_["quit"].trigger()

        def begin() -> None:
            if not panel.entries:  # the model list is read in a worker
                QTimer.singleShot(100, begin)
                return
            START[scenario](panel)
            QTimer.singleShot(int(after * 1000), quit_now)

        begin()
    return ready


if __name__ == "__main__":
    app_module._startup_probe = probe
    sys.exit(app_module.run_app(sys.argv[1:]))
