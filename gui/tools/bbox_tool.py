"""Bounding box (Shift+G, instance projects): drag a box around an object to record it without a
mask yet (core/editing/box_ops.py); one undo step per box. Paint into a selected box with the brush
to give it a mask; Box to mask (G) segments a box instead."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from maskwork.gui.tools.base import Tool, pixel


class BoundingBoxTool(Tool):
    name = "bbox"
    label = "Bounding box"
    shortcut = "Shift+G"
    tooltip = ("Bounding box (Shift+G): drag a box around an object to record it without a mask yet "
               "(drawn dashed, exported as a COCO bbox); Esc cancels a drag")
    hint = "Bounding box: drag around an object; it gets the current class. Paint into it later to give it a mask."

    def __init__(self, editor, canvas) -> None:
        super().__init__(editor, canvas)
        self._start: tuple[int, int] | None = None
        self._band: QGraphicsRectItem | None = None

    def press(self, p, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._start = pixel(p)
            self._draw(self._start)

    def move(self, p, event) -> None:
        if self._start is not None:
            self._draw(pixel(p))

    def release(self, p, event) -> None:
        if self._start is None or event.button() != Qt.MouseButton.LeftButton:
            return
        start, self._start = self._start, None
        self._clear()
        self.editor.add_box(start, pixel(p))

    def key_press(self, event) -> bool:
        if event.key() == Qt.Key.Key_Escape and self._start is not None:
            self.cancel()
            return True
        return False

    def cancel(self) -> None:
        self._start = None
        self._clear()

    def _draw(self, end: tuple[int, int]) -> None:
        if self._start is None:  # no drag under way
            return
        if self._band is None:
            self._band = QGraphicsRectItem()
            pen = QPen(QColor("#ffff00"))
            pen.setCosmetic(True)
            pen.setWidth(2)
            pen.setStyle(Qt.PenStyle.DashLine)
            self._band.setPen(pen)
            self._band.setZValue(15)
            self.canvas.scene().addItem(self._band)
        (x0, y0), (x1, y1) = self._start, end
        self._band.setRect(QRectF(min(x0, x1), min(y0, y1), abs(x1 - x0) + 1, abs(y1 - y0) + 1))

    def _clear(self) -> None:
        if self._band is not None:
            self.canvas.scene().removeItem(self._band)
            self._band = None
