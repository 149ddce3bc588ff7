"""A stall probe for the GUI thread: a 10 ms timer that records how late it fires.

While the GUI thread is busy (decoding an image, encoding a label map, a worker holding the GIL) the
timer cannot fire; the lateness of each tick is the stall the user felt. Used by bench/bench_stall.py:

    probe = StallProbe()
    with probe.watch():
        do_something_and_wait_for_it(qapp)
    probe.worst_ms, probe.over(50)
"""
from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer

INTERVAL_MS = 10
BLAME_MS = 30  # a tick this late gets its GUI-thread stack sampled (watch(blame=True))


class StallProbe(QObject):
    def __init__(self, interval_ms: int = INTERVAL_MS, parent=None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.late_ms: list[float] = []   # lateness of every tick (0 = on time)
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self.blamed: Counter = Counter()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.late_ms.append(max(0.0, (now - self._last) * 1000 - self.interval_ms))
        self._last = now

    def start(self) -> None:
        """From now on: work started right after this (before the event loop runs) counts as a stall."""
        self.late_ms, self._last = [], time.perf_counter()
        self._timer.start()

    def stop(self) -> list[float]:
        self._timer.stop()
        self._tick()  # a stall still running at the end counts too
        return self.late_ms

    @contextmanager
    def watch(self, blame: bool = False):
        """Probe while the block runs; with `blame`, a sampler thread notes where the GUI thread was
        whenever it is late (self.blamed: Counter of 'file:line function' -> samples)."""
        self.start()
        sampler = _Sampler(threading.get_ident(), lambda: self._last, self.interval_ms) if blame else None
        try:
            yield self
        finally:
            self.stop()
            if sampler is not None:
                self.blamed = sampler.finish()

    @property
    def worst_ms(self) -> float:
        return max(self.late_ms, default=0.0)

    def over(self, limit_ms: float) -> int:
        """How many ticks came more than limit_ms late."""
        return sum(1 for v in self.late_ms if v > limit_ms)


class _Sampler(threading.Thread):
    """Every few ms: if the GUI thread's last tick is overdue by > BLAME_MS, note its innermost
    frames of our own code (the sample itself needs the GIL, so a stall caused by a C call holding
    it shows up as the line right after that call; good enough to find the culprit)."""

    def __init__(self, gui_thread: int, last_tick, interval_ms: int) -> None:
        super().__init__(daemon=True)
        self.gui_thread, self.last_tick, self.interval_ms = gui_thread, last_tick, interval_ms
        self.samples: Counter = Counter()
        self._done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self._done.wait(0.005):
            late = (time.perf_counter() - self.last_tick()) * 1000 - self.interval_ms
            frame = sys._current_frames().get(self.gui_thread)
            if late > BLAME_MS and frame is not None:
                self.samples[_where(frame)] += 1

    def finish(self) -> Counter:
        self._done.set()
        self.join()
        return self.samples


def _where(frame) -> str:
    """The innermost frames of Maskwork code (not the benchmark, not the probe), outermost first."""
    parts = []
    while frame is not None and len(parts) < 3:
        path = frame.f_code.co_filename
        if ("/core/" in path or "/gui/" in path) and "site-packages" not in path:
            parts.append(f"{path.split('/main/')[-1]}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back
    return " < ".join(parts) or "(event loop / Qt)"


def spin_until(qapp, done, timeout_s: float = 600.0, poll_ms: int = 5) -> float:
    """Run the event loop (sleeping, not busy) until done() is true; the probe ticks in here.
    Returns the seconds it took."""
    start = time.perf_counter()
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(poll_ms)

    def check() -> None:
        if done() or time.perf_counter() - start > timeout_s:
            loop.quit()

    poll.timeout.connect(check)
    poll.start()
    if not done():
        loop.exec()
    poll.stop()
    if not done():
        raise TimeoutError(f"not done after {timeout_s:.0f} s")
    return time.perf_counter() - start


def spin_for(qapp, seconds: float) -> None:
    end = time.perf_counter() + seconds
    spin_until(qapp, lambda: time.perf_counter() >= end, timeout_s=seconds + 60)
