"""Start-up: QApplication, settings, the window shown at once, then the project opened.

Nothing here imports torch: the model panel loads models in a worker when asked. With no argument
the bundled samples (resources/samples) are copied once into the per-user data folder and opened,
so the installation folder is never written into.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from PySide6.QtCore import QStandardPaths, QTimer
from PySide6.QtWidgets import QApplication

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


def user_samples_folder() -> Path | None:
    """A writable copy of the bundled samples, made on first start (None when none are bundled)."""
    if not SAMPLES.is_dir() or not any(SAMPLES.iterdir()):
        return None
    data = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    target = data / "samples"
    if not target.exists():
        data.mkdir(parents=True, exist_ok=True)
        tmp = data / "samples.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(SAMPLES, tmp)
        tmp.rename(target)  # a half-copied folder never looks like the samples
    return target


def _first_project(folder: Path) -> Path:
    """The samples folder may hold several projects (nuclei, aerial): open the first one."""
    if (folder / ".maskwork").is_dir():
        return folder
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    return subs[0] if subs else folder


def _install_excepthook(window) -> None:
    """A bug in a slot shows a dialog instead of killing the app with unsaved work."""
    from gui.dialogs.messages import show_error

    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        try:
            show_error(window, value)
        except Exception:
            pass

    sys.excepthook = hook


def run_app(argv: list[str]) -> int:
    app = QApplication.instance() or QApplication([sys.argv[0], *[a for a in argv if a.startswith("-")]])
    app.setOrganizationName("Maskwork")
    app.setApplicationName("Maskwork")
    from gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    _install_excepthook(window)
    paths = [a for a in argv if not a.startswith("-")]

    def open_first() -> None:
        if paths:
            window.session.open_path(Path(paths[0]))
            return
        samples = user_samples_folder()
        if samples is not None:
            window.session.open_path(_first_project(samples))
        else:
            window.state.status_message.emit("Open a folder of images (Ctrl+Shift+O) or drop one here.")

    QTimer.singleShot(0, open_first)  # the window paints first, then the project loads
    return app.exec()
