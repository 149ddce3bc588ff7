"""Autosave without a stall: the GUI thread only copies what changed (core.store.autosave.capture, a memcpy
of the label map); encoding and the atomic writes run in a worker (core.store.autosave.write).

One write at a time: a request while one runs becomes one more run after it. Save, Discard,
closing and opening another project call wait() first, so an autosave never overlaps them (the
core guards hold anyway: capture-time stamps and the discard epoch, ADR 0012).
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from maskwork.core.domain.errors import MaskworkError
from maskwork.core.store import autosave
from maskwork.gui.workers import Job, start

WAIT_S = 60.0  # a 48 MP label map encodes in well under a second; a stuck disk must not hang forever


class Autosaver(QObject):
    written = Signal(list)   # names whose snapshot is on disk
    failed = Signal(str)

    def __init__(self, rerun, parent=None) -> None:
        super().__init__(parent)
        self._rerun = rerun          # what to call for the request that came in while writing
        self._job: Job | None = None
        self._again = False
        self._idle = threading.Event()
        self._idle.set()

    @property
    def busy(self) -> bool:
        return self._job is not None

    def run(self, project) -> None:
        """Capture now (GUI thread), write in a worker."""
        if self._job is not None:
            self._again = True
            return
        try:
            snapshot = autosave.capture(project)
        except MaskworkError as exc:
            self.failed.emit(str(exc))
            return
        if snapshot is None:
            return
        self._idle.clear()
        job = self._job = Job(self._write, project, snapshot, pass_progress=False)
        job.signals.finished.connect(self._finished)
        job.signals.failed.connect(self._failed)
        start(job)

    def _write(self, project, snapshot) -> list[str]:  # worker thread
        try:
            return autosave.write(project, snapshot)
        finally:
            self._idle.set()

    def wait(self, timeout: float = WAIT_S) -> bool:
        """Block until the running write is on disk (before Save, Discard, close). False on timeout."""
        return self._idle.wait(timeout)

    def _finished(self, names) -> None:
        self._done()
        if names:
            self.written.emit(list(names))

    def _failed(self, message: str) -> None:
        self._done()
        self.failed.emit(message)

    def _done(self) -> None:
        self._job = None
        if self._again:
            self._again = False
            self._rerun()
