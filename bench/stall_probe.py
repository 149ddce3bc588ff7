"""A stall probe for the GUI thread: a 10 ms timer that records how late it fires.

While the GUI thread is busy (decoding an image, encoding a label map, a worker holding the GIL) the
timer cannot fire; the lateness of each tick is the stall the user felt. Used by bench/bench_stall.py:

    probe = StallProbe()
    with probe.watch():
        do_something_and_wait_for_it(qapp)
    probe.worst_ms, probe.over(50)
"""
from __future__ import annotations

import time
from contextlib import contextmanager

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer

INTERVAL_MS = 10


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
    def watch(self):
        self.start()
        try:
            yield self
        finally:
            self.stop()

    @property
    def worst_ms(self) -> float:
        return max(self.late_ms, default=0.0)

    def over(self, limit_ms: float) -> int:
        """How many ticks came more than limit_ms late."""
        return sum(1 for v in self.late_ms if v > limit_ms)


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
