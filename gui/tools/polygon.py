"""Polygon: click points, double-click or Enter closes (fills the class / makes an instance), Esc cancels.

Until it is closed the polygon stays editable: drag a placed corner to move it, Shift+click a corner
to remove it, Backspace removes the last one (handles: gui/canvas/polygon_handles.py)."""
from __future__ import annotations

from PySide6.QtCore import Qt

from maskwork.gui.canvas.polygon_handles import PolygonHandles, vertex_at
from maskwork.gui.tools.base import Tool, pixel


class PolygonTool(Tool):
    name = "polygon"
    label = "Polygon"
    shortcut = "P"
    tooltip = ("Polygon (P): click corners (drag one to move it, Shift+click removes it); double-click or Enter "
               "closes it, Esc cancels, Backspace removes the last point")

    def __init__(self, editor, canvas) -> None:
        super().__init__(editor, canvas)
        self.points: list[tuple[int, int]] = []
        self._preview: PolygonHandles | None = None
        self._hover: tuple[int, int] | None = None
        self._drag: int | None = None  # index of the corner being moved

    def press(self, p, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        k = vertex_at(self.points, p, self.canvas.zoom()) if self.points else None
        if k is not None:
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                del self.points[k]
            else:
                self._drag = k
            self._draw()
            return
        q = pixel(p)
        if not self.points or self.points[-1] != q:
            self.points.append(q)
        self._draw()

    def move(self, p, event) -> None:
        if self._drag is not None:
            self.points[self._drag] = pixel(p)
            self._draw()
        elif self.points:
            self._hover = pixel(p)
            self._draw()

    def release(self, p, event) -> None:
        if self._drag is not None:
            self._drag = None
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
            self._preview = PolygonHandles(self.canvas.scene())
        tail = self._hover if self._drag is None else None
        self._preview.show(self.points, closed=True, active=self._drag, tail=tail)

    def _clear_preview(self) -> None:
        self._hover, self._drag = None, None
        if self._preview is not None:
            self._preview.clear()
            self._preview = None
