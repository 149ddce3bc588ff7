"""Brush and eraser: a press-move-release stroke becomes one undo step; each move paints the
segment since the last point and the canvas repaints only that segment's box."""
from __future__ import annotations

from PySide6.QtCore import Qt

from maskwork.gui.tools.base import Tool, pixel


class BrushTool(Tool):
    name = "brush"
    label = "Brush"
    shortcut = "B"
    tooltip = "Brush (B): paint the current class; [ and ] change the size; right button erases"
    uses_brush = True
    erase = False

    def __init__(self, editor, canvas) -> None:
        super().__init__(editor, canvas)
        self._last: tuple[int, int] | None = None

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.BlankCursor  # the brush outline is the cursor

    def press(self, p, event) -> None:
        erase = self.erase or event.button() == Qt.MouseButton.RightButton
        self._last = pixel(p)
        self.editor.begin_stroke(self._last, erase=erase)

    def move(self, p, event) -> None:
        if self._last is None:
            return
        q = pixel(p)
        if q != self._last:
            self.editor.stroke_to(self._last, q)
            self._last = q

    def release(self, p, event) -> None:
        if self._last is None:
            return
        self.move(p, event)
        self._last = None
        self.editor.end_stroke()

    def cancel(self) -> None:
        if self._last is not None:
            self._last = None
            self.editor.end_stroke()


class EraserTool(BrushTool):
    name = "eraser"
    label = "Eraser"
    shortcut = "E"
    tooltip = "Eraser (E): remove labels (semantic) or pixels of the selected instance; [ and ] change the size"
    erase = True
