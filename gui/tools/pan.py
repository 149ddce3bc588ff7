"""Pan (H), the tool Maskwork starts with: a first click on the image moves the view and changes no
mask. Dragging with the left button pans, like the middle button and Space+drag with any tool."""
from __future__ import annotations

from PySide6.QtCore import Qt

from maskwork.gui.tools.base import Tool


class PanTool(Tool):
    name = "pan"
    label = "Pan"
    shortcut = "H"
    tooltip = "Pan (H): drag to move around the image, wheel to zoom; nothing is edited"
    hint = "Pan: drag to move, wheel to zoom. Pick an editing tool to change masks (B brush, S select, P polygon)."
    pans = True  # the canvas pans on a left drag (gui/canvas/view.py)

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.OpenHandCursor
