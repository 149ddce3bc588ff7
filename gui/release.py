"""Letting go of big buffers off the GUI thread.

Switching away from a 48 MP image frees ~0.6 GB: its pixels, the screen copy and hundreds of overlay
tiles. Freed on the GUI thread that is 50-400 ms of stall (measured, bench/bench_stall.py). Handed to
one background thread instead, they are dropped one object at a time: each free is short and the GIL
changes hands between them, so the window keeps painting.
"""
from __future__ import annotations

import queue
import threading

_QUEUE: queue.Queue = queue.Queue()
_THREAD: threading.Thread | None = None
_LOCK = threading.Lock()


def release_later(*containers) -> None:
    """Drop these lists, dicts or objects in the background; the caller must hold no other reference."""
    global _THREAD
    with _LOCK:
        if _THREAD is None:
            _THREAD = threading.Thread(target=_run, name="maskwork-release", daemon=True)
            _THREAD.start()
    for item in containers:
        _QUEUE.put(item)


def _run() -> None:
    while True:
        item = _QUEUE.get()
        _drop(item)
        del item


def _drop(item) -> None:
    """One element per bytecode, so that no single C call frees them all while holding the GIL."""
    if isinstance(item, dict):
        while item:
            item.popitem()
    elif isinstance(item, list):
        while item:
            item.pop()

