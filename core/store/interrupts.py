"""Ctrl-C held back while a few renames finish, so a write is all or nothing and the message says which.

The last step of a staged write (an export folder, an import) is a series of renames taking milliseconds;
a Ctrl-C that lands there is held until they are done and then raised as KeyboardInterrupt(note), the
note saying that the work was complete. Only the main thread receives SIGINT; elsewhere nothing changes.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def interrupt_held(note: str) -> Iterator[None]:
    """Run the block to its end even when Ctrl-C is pressed; then raise KeyboardInterrupt(note) for it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt(note)
