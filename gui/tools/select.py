"""Select (instance mode): click picks the instance under the cursor, Ctrl/Shift+click adds to the
selection; Del deletes, M merges, a number key changes the class (actions in gui/actions.py)."""
from __future__ import annotations

from PySide6.QtCore import Qt

from maskwork.gui.tools.base import Tool, pixel


class SelectTool(Tool):
    name = "select"
    label = "Select"
    shortcut = "S"
    tooltip = "Select (S): click an instance; Ctrl+click adds; Del deletes, M merges, 1-9 change class"

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.ArrowCursor

    def press(self, p, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        additive = bool(event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        self.editor.select_at(pixel(p), additive=additive)
