"""Flood fill: click a region to give it the current class (4-connected, same value)."""
from __future__ import annotations

from PySide6.QtCore import Qt

from maskwork.gui.tools.base import Tool, pixel


class FillTool(Tool):
    name = "fill"
    label = "Fill"
    shortcut = "F"
    tooltip = "Flood fill (F): click a region to fill it with the current class (4-connected)"

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.PointingHandCursor

    def press(self, p, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.editor.fill(pixel(p))
