"""Canvas tools, declared in one table: (class, available in semantic mode, in instance mode)."""
from __future__ import annotations

from maskwork.gui.tools.accept_tool import AcceptTool
from maskwork.gui.tools.bbox_tool import BoundingBoxTool
from maskwork.gui.tools.box_tool import BoxTool
from maskwork.gui.tools.brush import BrushTool, EraserTool
from maskwork.gui.tools.fill import FillTool
from maskwork.gui.tools.outline_tool import OutlineTool
from maskwork.gui.tools.pan import PanTool
from maskwork.gui.tools.polygon import PolygonTool
from maskwork.gui.tools.sam_tool import SamTool
from maskwork.gui.tools.scissors_tool import ScissorsTool
from maskwork.gui.tools.scribble_tool import ScribbleTool
from maskwork.gui.tools.select import SelectTool
from maskwork.gui.tools.wand_tool import WandTool

TOOLS = [
    (PanTool, True, True),  # the start tool: a first click moves the view, edits nothing
    (BrushTool, True, True),
    (EraserTool, True, True),
    (FillTool, True, True),
    (PolygonTool, True, True),
    (SelectTool, False, True),
    (OutlineTool, True, True),  # drag the vertices of an object's outline
    (BoundingBoxTool, False, True),  # an object's box, its mask later (core/editing/box_ops.py)
    # click-to-segment (core.interactive) and "accept what the model found"
    (BoxTool, True, True),
    (WandTool, True, True),
    (ScribbleTool, True, True),
    (ScissorsTool, True, True),
    (SamTool, True, True),  # promptable model (SAM family), chosen on first use
    (AcceptTool, True, True),
]
