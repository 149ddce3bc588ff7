"""Start-up: QApplication, settings, the window shown at once, then the project opened.

Nothing here imports torch: the model panel loads models in a worker when asked. With no argument
the last project is reopened; on the first start (or when it is gone) the bundled samples
(resources/samples) are copied once into the per-user data folder and opened, so the installation
folder is never written into. File > Open sample offers each sample.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

from maskwork.gui.controllers.data_folder import data_folder
from maskwork.gui.controllers.samples import first_project, user_samples_folder


def open_at_start(window, paths: list[str]) -> None:
    """The folder given on the command line, else the last project (recent list), else a sample."""
    session, say = window.session, window.state.status_message.emit
    data_folder()  # moves an old doubled Maskwork/Maskwork folder up before the recent list is read
    if paths:
        session.open_path(Path(paths[0]))
        return
    recent = session.recent()
    last = recent[0] if recent else None
    if last and Path(last).is_dir() and session.open_path(Path(last)):
        return
    samples = user_samples_folder()
    opened = samples is not None and session.open_path(first_project(samples))
    if last and not Path(last).is_dir():
        where = f"opened the {window.state.project.root.name} sample" if opened else "open a folder (Ctrl+Shift+O)"
        say(f"The last project {last} is gone (moved or deleted); {where} instead.")
    elif not opened:
        say("Open a folder of images (Ctrl+Shift+O) or drop one here; File > Open sample has examples.")


def _install_excepthook(window) -> None:
    """A bug in a slot shows a dialog instead of killing the app with unsaved work."""
    import logging

    from maskwork.gui.dialogs.messages import show_error

    previous = sys.excepthook

    def hook(kind, value, tb):
        logging.getLogger("maskwork.gui.app").error("uncaught exception", exc_info=(kind, value, tb))
        previous(kind, value, tb)
        try:
            show_error(window, value)
        except Exception:
            pass

    sys.excepthook = hook


def _quit_on_terminate(app, window) -> None:
    """SIGTERM / SIGHUP (logout, shutdown, `kill`): nobody can answer a dialog, and every completed
    edit is already in the crash journal, so finish its writes, release the project lock and quit.
    The next start recovers the unsaved work. Python runs signal handlers only between bytecodes,
    hence the idle timer that gives it a turn while Qt's loop waits."""
    import signal

    def handler(_signum, _frame) -> None:
        window.session.close_project = lambda: True  # no prompt; the journal keeps the work
        window.session.autosaver.wait(2.0)  # a snapshot being written finishes before the lock goes
        if window.state.project is not None:
            window.state.project.close()
        app.quit()

    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, handler)
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(250)


def run_app(argv: list[str]) -> int:
    app = QApplication.instance() or QApplication([sys.argv[0], *[a for a in argv if a.startswith("-")]])
    app.setOrganizationName("Maskwork")
    app.setApplicationName("Maskwork")
    from maskwork.core.version import version

    app.setApplicationVersion(version())
    from maskwork.core.logs import setup_logging

    setup_logging("app")  # tracebacks of caught failures go to the log file (Help > Open log folder)
    if refuse_defective_binding():
        return 3
    from maskwork.gui.main_window import MainWindow

    window = MainWindow(panels_now=False)
    window.show()
    _install_excepthook(window)
    _quit_on_terminate(app, window)
    start_after_paint(window, [a for a in argv if not a.startswith("-")], _startup_probe(app))
    code = app.exec()  # the window has closed the project: the work is on disk, the lock released
    from maskwork.gui.fast_exit import exit_now

    if window.state.project is not None:
        window.state.project.close()  # a quit that did not close the window (closing twice is harmless)

    exit_now(code)  # skips the interpreter teardown (seconds with torch loaded): gui/fast_exit.py
    return code


def refuse_defective_binding() -> bool:
    """A binding that frees None would abort the window minutes into the work: say so now, in one sentence
    with the fix, on stderr and in a dialog (gui/binding_check.py)."""
    from maskwork.gui.binding_check import binding_defect

    message = binding_defect()
    if message is None:
        return False
    import logging

    from PySide6.QtWidgets import QMessageBox

    logging.getLogger("maskwork.gui.app").error(message)
    print(message, file=sys.stderr, flush=True)
    QMessageBox.critical(None, "Maskwork cannot start safely", message)
    return True


def start_after_paint(window, paths: list[str], then=lambda: None) -> None:
    """The project and then the other panels come after the window's first paint: before it, X shows the
    mapped window black. The first image comes before the panels, whose imports and set-up take longer
    than opening the project (ADR 0012); they catch up when docked. Separate timers let it repaint."""
    steps = [lambda: open_at_start(window, paths), window.add_panels, then]
    after_first_paint(window.view.viewport(), lambda: _chain(steps))


def _chain(steps) -> None:
    if steps:
        steps[0]()
        QTimer.singleShot(0, lambda: _chain(steps[1:]))


class _FirstPaint(QObject):
    def __init__(self, widget, callback) -> None:
        super().__init__(widget)
        self.callback = callback

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.fire()
        return False

    def fire(self) -> None:
        if self.callback is not None:
            callback, self.callback = self.callback, None
            parent = self.parent()
            if parent is not None:
                parent.removeEventFilter(self)
            QTimer.singleShot(0, callback)  # after this paint has reached the screen


def after_first_paint(widget, callback, fallback_ms: int = 1500) -> None:
    """Run `callback` once `widget` has painted (or after fallback_ms if it never does, e.g. minimised)."""
    watcher = _FirstPaint(widget, callback)
    widget.installEventFilter(watcher)
    QTimer.singleShot(fallback_ms, watcher.fire)


def _startup_probe(app):
    """MASKWORK_STARTUP_PROBE=1 prints wall-clock stamps for bench/bench_gui.py once the window is
    shown and once the project is open; MASKWORK_STARTUP_PROBE=exit also quits then. Returns the
    step that prints "ready" (run after the panels and the project)."""
    import os
    import time

    mode = os.environ.get("MASKWORK_STARTUP_PROBE")
    if not mode:
        return lambda: None
    print(f"MASKWORK_STARTUP_PROBE shown {time.time():.4f}", flush=True)

    def ready() -> None:
        print(f"MASKWORK_STARTUP_PROBE ready {time.time():.4f}", flush=True)
        if mode == "exit":
            app.quit()

    return ready
