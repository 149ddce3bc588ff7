"""A polygon with grabbable vertex handles over the canvas (outline editing, the polygon tool).

The line is cosmetic (same width at every zoom) and drawn twice, dark under bright, so it reads on
dark and light images alike; handles are small squares of a fixed screen size. Hit tests take
screen pixels, so a vertex is as easy to grab zoomed out as zoomed in.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsRectItem

from maskwork.core.editing.outline_ops import closest_edge

HANDLE_PX = 8         # handle side on screen
VERTEX_HIT_PX = 7     # a press this close to a vertex grabs it
EDGE_HIT_PX = 5       # ... this close to an edge inserts a vertex there
Z = 16                # above overlays and boxes, under the brush outline


def _pen(colour: str, width: float) -> QPen:
    pen = QPen(QColor(colour))
    pen.setCosmetic(True)
    pen.setWidthF(width)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


class PolygonHandles:
    def __init__(self, scene, colour: str = "#ffd400") -> None:
        self.scene = scene
        self.colour = colour
        self.shade = QGraphicsPathItem()
        self.shade.setPen(_pen("#000000", 4))
        self.line = QGraphicsPathItem()
        self.line.setPen(_pen(colour, 2))
        for z, item in enumerate((self.shade, self.line)):
            item.setZValue(Z + z * 0.1)
            scene.addItem(item)
        self.handles: list[QGraphicsRectItem] = []

    def show(self, points, closed: bool = True, active: int | None = None, tail=None) -> None:
        """Draw `points` [(x, y) pixel], closed or open, with `tail` an extra point joined to the last
        (the rubber band while drawing); `active` is the highlighted vertex."""
        path = QPainterPath()
        shown = list(points) + ([tail] if tail is not None else [])
        for k, (x, y) in enumerate(shown):
            (path.lineTo if k else path.moveTo)(QPointF(x + 0.5, y + 0.5))
        if closed and len(shown) > 2:
            path.closeSubpath()
        self.shade.setPath(path)
        self.line.setPath(path)
        while len(self.handles) < len(points):
            self.handles.append(self._handle())
        for k, handle in enumerate(self.handles):
            if k < len(points):
                x, y = points[k]
                handle.setPos(x + 0.5, y + 0.5)
                handle.setBrush(QBrush(QColor(self.colour if k == active else "#ffffff")))
            handle.setVisible(k < len(points))

    def _handle(self) -> QGraphicsRectItem:
        half = HANDLE_PX / 2
        item = QGraphicsRectItem(QRectF(-half, -half, HANDLE_PX, HANDLE_PX))
        item.setPen(_pen("#000000", 1))
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)  # screen-size handles
        item.setZValue(Z + 0.2)
        self.scene.addItem(item)
        return item

    def clear(self) -> None:
        for item in [self.shade, self.line, *self.handles]:
            if item.scene() is not None:
                item.scene().removeItem(item)
        self.handles = []

    def hide(self) -> None:
        self.show([], closed=False)


def vertex_at(points, p: QPointF, zoom: float) -> int | None:
    """Index of the vertex within VERTEX_HIT_PX screen pixels of image point p (the nearest)."""
    best, best_d = None, VERTEX_HIT_PX / max(zoom, 1e-6)
    for k, (x, y) in enumerate(points):
        d = math.hypot(p.x() - (x + 0.5), p.y() - (y + 0.5))
        if d <= best_d:
            best, best_d = k, d
    return best


def edge_at(points, p: QPointF, zoom: float) -> tuple[int, tuple[int, int]] | None:
    """(k, q): the edge k -> k+1 within EDGE_HIT_PX screen pixels of p, and the pixel on it where a
    new vertex goes (at index k + 1); None when p is not on the outline."""
    if len(points) < 2:
        return None
    k, (qx, qy), d = closest_edge(points, (p.x() - 0.5, p.y() - 0.5))
    if d > EDGE_HIT_PX / max(zoom, 1e-6):
        return None
    return k, (int(round(qx)), int(round(qy)))
