"""Run long core work off the GUI thread (QThreadPool) with progress and cancel.

A job is any core function taking `progress` and `cancel` keyword arguments (see core/domain/progress.py).
Signals are delivered on the GUI thread, so slots may touch widgets. Usage:

    job = Job(core_fn, arg1, kw=...)            # core_fn(arg1, kw=..., progress=..., cancel=...)
    job.signals.progress.connect(bar.update)    # (done, total, message)
    job.signals.finished.connect(on_result)     # (result)
    job.signals.failed.connect(show_error)      # (message: str)
    job.signals.cancelled.connect(...)
    start(job); ... job.cancel()
"""
from __future__ import annotations

import logging
import traceback

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal

from maskwork.core.domain.errors import Cancelled, MaskworkError
from maskwork.core.domain.progress import CancelToken

log = logging.getLogger(__name__)


class JobSignals(QObject):
    progress = Signal(int, int, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    item = Signal(object)  # optional intermediate results (e.g. one image of a batch)


class Job(QRunnable):
    def __init__(self, fn, *args, pass_progress: bool = True, **kwargs) -> None:
        super().__init__()
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.pass_progress = pass_progress
        self.token = CancelToken()
        self.signals = JobSignals()
        self.setAutoDelete(False)  # the caller keeps a reference; signals stay valid until it drops it
        self.outcome: tuple[str, object] | None = None  # (how it ended, its value), for callers that wait

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def is_cancelled(self) -> bool:
        return self.token.cancelled

    def _progress(self, done: int, total: int, message: str = "") -> None:
        self.token.check()
        self.signals.progress.emit(int(done), int(total), str(message))

    def _name(self) -> str:
        return getattr(self.fn, "__qualname__", repr(self.fn))

    def run(self) -> None:  # worker thread
        try:
            if self.pass_progress:
                result = self.fn(*self.args, progress=self._progress, cancel=self.token, **self.kwargs)
            else:
                result = self.fn(*self.args, **self.kwargs)
        except Cancelled:
            self.signals.cancelled.emit()
        except MaskworkError as exc:
            log.warning("job %s failed: %s", self._name(), exc, exc_info=True)
            self.signals.failed.emit(str(exc))
        except MemoryError:
            log.exception("job %s ran out of memory", self._name())
            self.signals.failed.emit("Out of memory. Close other images or use a smaller model; nothing was lost.")
        except Exception as exc:  # a bug: show it, keep the window alive, keep the user's work
            log.exception("job %s failed unexpectedly", self._name())
            self.signals.failed.emit(
                f"Unexpected error: {type(exc).__name__}: {exc}\n\nYour work is safe. Details:\n"
                + traceback.format_exc(limit=6)
            )
        else:
            if self.token.cancelled:
                self.signals.cancelled.emit()
            else:
                self.signals.finished.emit(result)


def pool() -> QThreadPool:
    return QThreadPool.globalInstance()


_RUNNING: set[Job] = set()  # keeps jobs (and their signal objects) alive until they end
_QUIT_HOOKED = False


def _stop_all_on_quit() -> None:
    """At quit, cancel what still runs and give the workers a short grace to stop; the app then ends
    without destroying Qt objects (gui/fast_exit.py), so a worker still in a model pass cannot emit
    on a deleted object, and the user does not wait for it."""
    from maskwork.gui.fast_exit import WORKER_GRACE_MS

    for job in list(_RUNNING):
        job.cancel()
    pool().waitForDone(WORKER_GRACE_MS)


def running_jobs() -> int:
    return len(_RUNNING)


def start(job: Job) -> Job:
    global _QUIT_HOOKED
    app = QCoreApplication.instance()
    if not _QUIT_HOOKED and app is not None:
        app.aboutToQuit.connect(_stop_all_on_quit)
        _QUIT_HOOKED = True
    _RUNNING.add(job)
    for signal in (job.signals.finished, job.signals.failed, job.signals.cancelled):
        signal.connect(lambda *_, j=job: _RUNNING.discard(j))
    pool().start(job)
    return job
