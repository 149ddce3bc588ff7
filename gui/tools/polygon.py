"""Polygon: click points, double-click or Enter closes (fills the class / makes an instance), Esc cancels."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPolygonItem

from maskwork.gui.tools.base import Tool, pixel


class PolygonTool(Tool):
    name = "polygon"
    label = "Polygon"
    shortcut = "P"
    tooltip = "Polygon (P): click corners; double-click or Enter closes it, Esc cancels, Backspace removes a point"

    def __init__(self, editor, canvas) -> None:
        super().__init__(editor, canvas)
        self.points: list[tuple[int, int]] = []
        self._preview: QGraphicsPolygonItem | None = None
        self._hover: tuple[int, int] | None = None

    def press(self, p, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        q = pixel(p)
        if not self.points or self.points[-1] != q:
            self.points.append(q)
        self._draw()

    def move(self, p, event) -> None:
        if self.points:
            self._hover = pixel(p)
            self._draw()

    def double_click(self, p, event) -> None:
        self.close()

    def key_press(self, event) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.points:
            self.close()
            return True
        if key == Qt.Key.Key_Escape and self.points:
            self.cancel()
            return True
        if key == Qt.Key.Key_Backspace and self.points:
            self.points.pop()
            self._draw()
            return True
        return False

    def close(self) -> None:
        points, self.points = self.points, []
        self._clear_preview()
        if len(points) >= 3:
            self.editor.polygon(points)

    def cancel(self) -> None:
        self.points = []
        self._clear_preview()

    def _draw(self) -> None:
        if self._preview is None:
            self._preview = QGraphicsPolygonItem()
            pen = QPen(QColor("#ffff00"))
            pen.setCosmetic(True)
            pen.setWidth(2)
            self._preview.setPen(pen)
            self._preview.setZValue(15)
            self.canvas.scene().addItem(self._preview)
        pts = self.points + ([self._hover] if self._hover else [])
        self._preview.setPolygon(QPolygonF([QPointF(x + 0.5, y + 0.5) for x, y in pts]))

    def _clear_preview(self) -> None:
        self._hover = None
        if self._preview is not None:
            self.canvas.scene().removeItem(self._preview)
            self._preview = None
