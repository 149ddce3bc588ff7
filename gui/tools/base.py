"""The Tool interface: the canvas forwards mouse and key events in image coordinates.

A tool turns gestures into calls on the Editor (gui/controllers/editor.py), which calls core.editing and keeps
undo; tools never touch pixels themselves.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt


class Tool:
    name = "tool"
    label = "Tool"
    shortcut = ""
    tooltip = ""
    uses_brush = False  # the canvas shows the brush outline

    def __init__(self, editor, canvas) -> None:
        self.editor, self.canvas = editor, canvas

    @property
    def hint(self) -> str:
        """One line for the status bar when the tool is picked (a tool sets it as a class attribute, or words
        it on the spot as a property)."""
        return ""

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.CrossCursor

    def press(self, p: QPointF, event) -> None: ...
    def move(self, p: QPointF, event) -> None: ...
    def release(self, p: QPointF, event) -> None: ...
    def double_click(self, p: QPointF, event) -> None: ...

    def key_press(self, event) -> bool:
        """Return True when the key was used (Enter/Esc for polygons)."""
        return False

    def activate(self) -> None:
        """The tool was picked (the canvas calls this after cancel() of the previous one)."""

    def cancel(self) -> None:
        """Abandon a gesture in progress (tool switch, image switch)."""

    def wheel(self, event) -> bool:
        """Return True when the wheel event was used (the canvas then does not zoom)."""
        return False

    def claims_key(self, event) -> bool:
        """True to take a key the window would otherwise treat as a shortcut (Ctrl+Enter while a
        preview is pending); the canvas then gets it as a key press."""
        return False


def pixel(p: QPointF) -> tuple[int, int]:
    """Image pixel containing the point (floor, also for negative coordinates)."""
    import math

    return math.floor(p.x()), math.floor(p.y())
