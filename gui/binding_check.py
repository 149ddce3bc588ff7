"""Is this Qt binding safe to draw with? Asked once at start-up, before the window exists.

PySide6 6.12.0 on Python 3.11 drops one reference to `None` on every call of a Qt method that returns
nothing (QPainterPath.lineTo, QPen.setWidthF, QGraphicsItem.setPos, ...). A few thousand brush moves
later CPython frees `None` and aborts ("Fatal Python error: none_dealloc"), taking the stroke in
progress with it. pyproject.toml keeps such a binding off an install; this catches a user's own
environment, which pins do not reach. On Python 3.12+ `None` is immortal and the defect is harmless.
"""
from __future__ import annotations

import sys
from collections.abc import Callable

# enough calls that a leak of one reference per call stands far above the noise of a few references that
# other threads or the interpreter itself may take or drop meanwhile
PROBE_CALLS = 2000


def none_is_immortal() -> bool:
    return sys.version_info >= (3, 12)


def void_qt_call() -> Callable[[], None]:
    """One call of a Qt method that returns nothing, the kind the defect leaks on."""
    from PySide6.QtGui import QPainterPath

    path = QPainterPath()
    return lambda: path.lineTo(1.0, 1.0)


def none_references_lost(call: Callable[[], object], calls: int = PROBE_CALLS) -> int:
    """How many references to None `calls` calls of `call` dropped (0 on a sound binding). What a defective
    binding took is given back, so asking does no harm of its own."""
    before = sys.getrefcount(None)
    for _ in range(calls):
        call()
    lost = before - sys.getrefcount(None)
    if lost > 0:
        import ctypes

        for _ in range(lost):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    return lost


def binding_defect(call: Callable[[], object] | None = None) -> str | None:
    """The one sentence to show when the installed binding frees None, else None."""
    if none_is_immortal():
        return None
    lost = none_references_lost(call or void_qt_call())
    if lost < PROBE_CALLS // 2:
        return None
    import PySide6

    return (f"PySide6 {PySide6.__version__} on Python {sys.version_info.major}.{sys.version_info.minor} has a "
            "defect that crashes Maskwork after a few thousand mouse moves (it frees Python's None); "
            "install a sound binding with  pip install 'PySide6-Essentials<6.12'  (or run Maskwork on "
            "Python 3.12 or newer), then start Maskwork again.")
