"""A text progress line with throughput and time left: `[####    ] 120/1000 3.1 img/s ETA 4:43`.

The rate counts from the first finished batch, so the pool's start-up does not drag it down, and shows
once a few seconds have passed (batches of several workers arrive together: one instant says little).
"""
from __future__ import annotations

import time

from maskwork.core.domain.progress import TextProgress

SETTLE_S = 3.0


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class RateProgress:
    def __init__(self, label: str, stream=None) -> None:
        self.bar = TextProgress(label, stream)
        self._first: tuple[float, int] | None = None
        self.rate = 0.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        if done and self._first is None:
            self._first = (now, done)
        if self._first is not None and now - self._first[0] >= SETTLE_S and done > self._first[1]:
            self.rate = (done - self._first[1]) / (now - self._first[0])
            eta = (total - done) / self.rate
            message = f"{self.rate:.1f} img/s ETA {_clock(eta)}"
        self.bar(done, total, message)
