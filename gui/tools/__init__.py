"""Canvas tools, declared in one table: (class, available in semantic mode, in instance mode)."""
from __future__ import annotations

from gui.tools.brush import BrushTool, EraserTool
from gui.tools.fill import FillTool
from gui.tools.polygon import PolygonTool
from gui.tools.select import SelectTool

TOOLS = [
    (BrushTool, True, True),
    (EraserTool, True, True),
    (FillTool, True, True),
    (PolygonTool, True, True),
    (SelectTool, False, True),
]
