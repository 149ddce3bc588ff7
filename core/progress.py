"""Progress reporting and cancellation shared by long work in core.

Long work is a plain function taking `progress: ProgressFn | None` and `cancel: CancelToken | None`.
The GUI runs it in a worker thread and maps progress to a bar; the CLI prints a text bar.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Callable, Protocol

from maskwork.core.errors import Cancelled


class ProgressFn(Protocol):
    def __call__(self, done: int, total: int, message: str = "") -> None: ...


class CancelToken:
    """Thread-safe cancel flag; `check()` raises Cancelled once cancel() was called."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("stopped at the user's request")


def check(cancel: CancelToken | None) -> None:
    if cancel is not None:
        cancel.check()


def report(progress: ProgressFn | None, done: int, total: int, message: str = "") -> None:
    if progress is not None:
        progress(done, total, message)


class TextProgress:
    """A one-line text progress bar on stderr for the CLI."""

    def __init__(self, label: str = "", stream=None, width: int = 30) -> None:
        self.label, self._stream, self.width = label, stream, width
        self._last = 0.0

    @property
    def stream(self):
        # sys.stderr is looked up at each write: it can be replaced after this bar was made
        return self._stream if self._stream is not None else sys.stderr

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        frac = done / total if total else 1.0
        bar = "#" * int(frac * self.width)
        self.stream.write(f"\r{self.label} [{bar:<{self.width}}] {done}/{total} {message[:40]:<40}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


ProgressCallback = Callable[[int, int, str], None]
