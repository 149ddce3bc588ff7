"""Progress reporting and cancellation shared by long work in core.

Long work is a plain function taking `progress: ProgressFn | None` and `cancel: CancelToken | None`.
The GUI runs it in a worker thread and maps progress to a bar; the CLI prints a text bar.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Callable, Protocol

from maskwork.core.domain.errors import Cancelled


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


LINE_STEPS = 10     # not a terminal: a line per tenth of the work...
LINE_EVERY_S = 10.0  # ...or every 10 s, whichever comes first


class TextProgress:
    """A one-line text progress bar on stderr for the CLI. When the stream is not a terminal
    (`evaluate ... 2> log`, a pipe, CI) it prints plain lines instead: at the start, every tenth of
    the work or LINE_EVERY_S, at a new phase (total changes) and at the end; never carriage returns."""

    def __init__(self, label: str = "", stream=None, width: int = 30) -> None:
        self.label, self._stream, self.width = label, stream, width
        self._last = 0.0
        self._line_at: float | None = None  # time of the last plain line
        self._line_key: tuple = ()          # (total, tenth) of the last plain line

    @property
    def stream(self):
        # sys.stderr is looked up at each write: it can be replaced after this bar was made
        return self._stream if self._stream is not None else sys.stderr

    def _terminal(self) -> bool:
        try:
            return bool(self.stream.isatty())
        except (AttributeError, ValueError):  # no isatty, or a closed stream
            return False

    def _plain(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        tenth = min(LINE_STEPS, done * LINE_STEPS // total) if total > 0 else LINE_STEPS
        key = (total, tenth)
        late = self._line_at is not None and now - self._line_at >= LINE_EVERY_S
        if key == self._line_key and not late:
            return
        self._line_at, self._line_key = now, key
        percent = f" ({100 * done / total:.0f}%)" if total else ""
        text = f"{self.label}: {done}/{total}{percent}" + (f" {message}" if message else "")
        self.stream.write(text.strip() + "\n")
        self.stream.flush()

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if not self._terminal():
            self._plain(done, total, message)
            return
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
