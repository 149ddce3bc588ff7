"""Canvas tools, declared in one table: (class, available in semantic mode, in instance mode)."""
from __future__ import annotations

from gui.tools.accept_tool import AcceptTool
from gui.tools.box_tool import BoxTool
from gui.tools.brush import BrushTool, EraserTool
from gui.tools.fill import FillTool
from gui.tools.polygon import PolygonTool
from gui.tools.sam_tool import SamTool
from gui.tools.scissors_tool import ScissorsTool
from gui.tools.scribble_tool import ScribbleTool
from gui.tools.select import SelectTool
from gui.tools.wand_tool import WandTool

TOOLS = [
    (BrushTool, True, True),
    (EraserTool, True, True),
    (FillTool, True, True),
    (PolygonTool, True, True),
    (SelectTool, False, True),
    # click-to-segment (core.interactive) and "accept what the model found"
    (BoxTool, True, True),
    (WandTool, True, True),
    (ScribbleTool, True, True),
    (ScissorsTool, True, True),
    (SamTool, True, True),  # promptable model (SAM family), chosen on first use
    (AcceptTool, True, True),
]
