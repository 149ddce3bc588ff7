"""The live preview of the interactive tools: the proposed mask (class colour, drawn over only its
bbox) and the prompt that produced it (box, clicks, strokes, an outline path).

Plain scene items, so Qt repaints only what moved; the mask image is rebuilt once per preview,
never per mouse move.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
)

from maskwork.core.domain.masks import Mask
from maskwork.core.view.render import mask_bgra

Z = 12  # above the overlays (1, 2) and boxes (3), below the polygon preview and brush outline
POSITIVE, NEGATIVE = QColor("#32ff6a"), QColor("#ff3b3b")
MARKER = 5  # click marker radius in screen pixels


def _pen(color: QColor, width: float = 2, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color)
    pen.setCosmetic(True)  # same width at every zoom
    pen.setWidthF(width)
    pen.setStyle(style)
    return pen


def _polyline(points) -> QPainterPath:
    path = QPainterPath()
    for k, (x, y) in enumerate(points):
        (path.lineTo if k else path.moveTo)(QPointF(x + 0.5, y + 0.5))
    return path


class PreviewLayer:
    def __init__(self, scene) -> None:
        self.scene = scene
        self.masks: list[Mask] = []            # what Enter would commit (tests read it)
        self._mask_items: list[QGraphicsPixmapItem] = []
        self._prompt_items: list[QGraphicsItem] = []

    # ---- the proposed mask(s) -----------------------------------------------------------------
    def show_masks(self, masks: list[Mask], rgb: tuple[int, int, int], painted: list | None = None) -> None:
        """`painted`: each mask's mask_bgra(crop, rgb) made earlier (in a worker), when there is one."""
        self._drop(self._mask_items)
        shown = [(k, m) for k, m in enumerate(masks) if m is not None and not m.is_empty]
        self.masks = [m for _, m in shown]
        for k, m in shown:
            pixels = painted[k] if painted is not None and painted[k] is not None else mask_bgra(m.crop, rgb)
            image = QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.strides[0],
                           QImage.Format.Format_ARGB32_Premultiplied)
            item = QGraphicsPixmapItem(QPixmap.fromImage(image))  # fromImage copies: `pixels` may go
            item.setPos(m.x0, m.y0)
            item.setZValue(Z)
            self.scene.addItem(item)
            self._mask_items.append(item)

    def mask_visible(self) -> bool:
        return any(i.isVisible() and not i.pixmap().isNull() for i in self._mask_items)

    def mask_image(self, k: int = 0) -> QImage:
        """The k-th preview image as drawn (tests compare its pixels with the mask)."""
        return self._mask_items[k].pixmap().toImage()

    # ---- the prompt ---------------------------------------------------------------------------
    def show_prompt(self, box=None, points=(), strokes=(), path=None, fill_rgb: tuple[int, int, int] | None = None,
                    closed=False) -> None:
        """box (x0, y0, x1, y1); points [(x, y, positive)]; strokes [([(x, y)...], positive)];
        path [(x, y)...]: an outline, filled with fill_rgb when given (scissors)."""
        self._drop(self._prompt_items)
        if box is not None:
            x0, y0, x1, y1 = box
            self._add(QGraphicsRectItem(QRectF(x0, y0, x1 - x0, y1 - y0)), _pen(QColor("#ffff00"), 1.5,
                                                                                   Qt.PenStyle.DashLine))
        for pts, positive in strokes:
            self._add(QGraphicsPathItem(_polyline(pts)), _pen(POSITIVE if positive else NEGATIVE, 3))
        if path:
            outline = _polyline(path)
            if closed:
                outline.closeSubpath()
            item = self._add(QGraphicsPathItem(outline), _pen(QColor("#ffff00"), 2))
            if fill_rgb is not None:
                item.setBrush(QBrush(QColor(*fill_rgb, 110)))
        for x, y, positive in points:
            dot = self._add(QGraphicsEllipseItem(QRectF(-MARKER, -MARKER, 2 * MARKER, 2 * MARKER)),
                            _pen(QColor("#000000"), 1))
            dot.setBrush(QBrush(POSITIVE if positive else NEGATIVE))
            dot.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
            dot.setPos(x + 0.5, y + 0.5)

    def prompt_items(self) -> list[QGraphicsItem]:
        return list(self._prompt_items)

    def clear(self) -> None:
        self.masks = []
        self._drop(self._mask_items)
        self._drop(self._prompt_items)

    # ---- helpers ------------------------------------------------------------------------------
    def _add(self, item, pen: QPen):
        item.setPen(pen)
        item.setZValue(Z + 1)
        self.scene.addItem(item)
        self._prompt_items.append(item)
        return item

    def _drop(self, items: list) -> None:
        for item in items:
            if item.scene() is self.scene:
                self.scene.removeItem(item)
        items.clear()
