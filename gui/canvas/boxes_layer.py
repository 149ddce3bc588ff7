"""Instance boxes and "class score" labels, rebuilt when the instance list changes (not per pixel).
A box-only object (no mask yet, core/editing/box_ops.py) is drawn dashed, always, boxes shown or not."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsItemGroup, QGraphicsRectItem, QGraphicsSimpleTextItem

from maskwork.core.editing.box_ops import is_box_only
from maskwork.core.view.label_layout import non_overlapping
from maskwork.core.view.render import instance_rgb

MIN_LABEL_BOX_PX = 36  # a box narrower than this on screen shows no label


class BoxesItem(QGraphicsItemGroup):
    def __init__(self, z: float) -> None:
        super().__init__()
        self.setZValue(z)
        self.show_boxes = True
        self.show_labels = True
        self.show_scores = True  # "class 0.93" or just "class" (Edit > Preferences > Object labels)
        self.selected: set[int] = set()
        self._labels: list[tuple[QGraphicsSimpleTextItem, float]] = []  # (label, box width)
        self._zoom = 1.0

    def rebuild(self, layer, classes) -> None:
        for child in self.childItems():
            self.removeFromGroup(child)
            if child.scene() is not None:
                child.scene().removeItem(child)
        self._labels = []
        if layer is None:
            return
        for inst in layer.instances:
            box_only = is_box_only(inst)
            if inst.mask.is_empty and not box_only:
                continue
            x, y, w, h = inst.bbox
            colour = QColor(*instance_rgb(inst.id))
            if self.show_boxes or box_only:  # a box-only object has nothing else to show
                rect = QGraphicsRectItem(QRectF(x, y, w, h))
                pen = QPen(QColor("#ffffff") if inst.id in self.selected else colour)
                pen.setCosmetic(True)
                pen.setWidth(3 if inst.id in self.selected else 2 if box_only else 1)
                if box_only:
                    pen.setStyle(Qt.PenStyle.DashLine)
                rect.setPen(pen)
                self.addToGroup(rect)
            if self.show_labels:
                label = self._label(inst, classes, colour, x, y, self.show_scores)
                self.addToGroup(label)
                self._labels.append((label, w))
        self.set_zoom(self._zoom)

    def set_zoom(self, zoom: float) -> None:
        """Labels of boxes too small on screen to carry them are hidden (hundreds of nuclei at fit), and
        of the rest none is drawn over another (core.view.label_layout: bigger objects keep theirs)."""
        self._zoom = zoom
        big = [(label, width) for label, width in self._labels if width * zoom >= MIN_LABEL_BOX_PX]
        rects = []
        for label, _width in big:  # screen pixels: the text ignores the zoom, its position does not
            size = label.boundingRect()
            x, y = label.pos().x() * zoom, label.pos().y() * zoom
            rects.append((x, y, x + size.width(), y + size.height()))
        keep = dict(zip((id(label) for label, _w in big), non_overlapping(rects, [w for _l, w in big])))
        for label, _width in self._labels:
            label.setVisible(keep.get(id(label), False))

    @staticmethod
    def _label(inst, classes, colour: QColor, x: float, y: float, scores: bool = True) -> QGraphicsSimpleTextItem:
        try:
            name = classes.get(inst.class_id).name
        except KeyError:
            name = f"class {inst.class_id}"
        text = name if inst.score is None or not scores else f"{name} {inst.score:.2f}"
        if is_box_only(inst):
            text += " (box)"
        item = QGraphicsSimpleTextItem(text)
        item.setBrush(QBrush(colour))
        item.setPen(QPen(QColor(0, 0, 0, 160)))
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)  # readable at any zoom
        item.setPos(x, y)
        return item
