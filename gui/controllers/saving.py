"""Ctrl+S without a frozen window: a big save is written in a worker behind a modal progress dialog.

Session.save keeps its synchronous contract (it returns whether everything was written; quitting and
closing rely on that), so the worker is awaited in a local event loop: the window keeps painting, the
modal dialog keeps edits out until the files are on disk, and Session.autosave stands aside meanwhile.
Small saves (most) stay on the spot: a few milliseconds, no dialog.
"""
from __future__ import annotations

from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtWidgets import QProgressDialog

from maskwork.core.domain.errors import MaskworkError
from maskwork.gui.workers import Job, start

WORKER_PIXELS = 4_000_000  # unsaved image pixels above which a save leaves the GUI thread (~20 ms of encoding)


def save_project(project, parent, names: list[str] | None = None) -> list[str]:
    """project.save(names): what it returns, what it raises (re-raised here, on the GUI thread)."""
    todo = project.dirty if names is None else names
    if sum(project.annotation(n).width * project.annotation(n).height for n in todo) <= WORKER_PIXELS:
        return project.save(names)
    outcome: dict = {}
    loop = QEventLoop()
    job = Job(_save_or_error, project, names, pass_progress=False)

    def done(result) -> None:
        outcome["result"] = result
        loop.quit()

    job.signals.finished.connect(done)
    job.signals.failed.connect(lambda message: done(MaskworkError(message)))
    # no Cancel: every file is written atomically. Qt's documented None (no button) is missing from the stub.
    dialog = QProgressDialog("Saving...", None, 0, 0, parent)  # type: ignore[call-overload]
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)
    try:
        start(job)
        loop.exec()
    finally:
        dialog.reset()
        dialog.deleteLater()
    if isinstance(outcome.get("result"), BaseException):
        raise outcome["result"]
    return outcome["result"]


def _save_or_error(project, names):  # worker thread
    try:
        return project.save(names)
    except MaskworkError as exc:  # keeps its type (full disk, undefined class): Session.save tells them apart
        return exc
