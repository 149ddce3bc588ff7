"""Instance boxes and "class score" labels, rebuilt when the instance list changes (not per pixel)."""
from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsItemGroup, QGraphicsRectItem, QGraphicsSimpleTextItem

from maskwork.core.view.render import instance_rgb


MIN_LABEL_BOX_PX = 36  # a box narrower than this on screen shows no label


class BoxesItem(QGraphicsItemGroup):
    def __init__(self, z: float) -> None:
        super().__init__()
        self.setZValue(z)
        self.show_boxes = True
        self.show_labels = True
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
            if inst.mask.is_empty:
                continue
            x, y, w, h = inst.bbox
            colour = QColor(*instance_rgb(inst.id))
            if self.show_boxes:
                rect = QGraphicsRectItem(QRectF(x, y, w, h))
                pen = QPen(QColor("#ffffff") if inst.id in self.selected else colour)
                pen.setCosmetic(True)
                pen.setWidth(3 if inst.id in self.selected else 1)
                rect.setPen(pen)
                self.addToGroup(rect)
            if self.show_labels:
                label = self._label(inst, classes, colour, x, y)
                self.addToGroup(label)
                self._labels.append((label, w))
        self.set_zoom(self._zoom)

    def set_zoom(self, zoom: float) -> None:
        """Labels of boxes too small on screen to carry them are hidden (hundreds of nuclei at fit)."""
        self._zoom = zoom
        for label, width in self._labels:
            label.setVisible(width * zoom >= MIN_LABEL_BOX_PX)

    @staticmethod
    def _label(inst, classes, colour: QColor, x: float, y: float) -> QGraphicsSimpleTextItem:
        try:
            name = classes.get(inst.class_id).name
        except KeyError:
            name = f"class {inst.class_id}"
        text = name if inst.score is None else f"{name} {inst.score:.2f}"
        item = QGraphicsSimpleTextItem(text)
        item.setBrush(QBrush(colour))
        item.setPen(QPen(QColor(0, 0, 0, 160)))
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)  # readable at any zoom
        item.setPos(x, y)
        return item
