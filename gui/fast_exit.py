"""Quitting in well under a second (issue 12: it took ~5 s).

Measured (bench note in docs/BENCHMARKS.md): closing the window took 0.06 s, but then the quit waited
for running workers (a "Run on all images" or int8 build in progress: up to the end of the current
model pass, 3 s) and Python's interpreter teardown freed the modules of torch, torchvision, scipy
and onnxruntime one object at a time (another 2.5-3.3 s), all after the user's work was safe.

So: by the time the event loop returns, the window has closed the project (crash journal flushed,
snapshots written, lock released). Workers get a short grace to stop at their next cancel check;
their writes are atomic (checkpoints, int8 caches, exports), so one cut off leaves no half file.
Then settings and logs are flushed and the process ends without the teardown.
"""
from __future__ import annotations

import logging
import os
import sys

from PySide6.QtCore import QSettings

WORKER_GRACE_MS = 300  # cancelled jobs stop at their next check; a model pass in progress is not awaited


def exit_now(code: int) -> None:
    """End the process at once: settings and logs on disk first (nothing else is left to save)."""
    QSettings().sync()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(int(code))
