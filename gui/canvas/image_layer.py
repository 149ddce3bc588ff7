"""The photo under the overlays: one QPixmap item built from the RGB array (no copy kept)."""
from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """Wrap an (H, W, 3) uint8 array as a QImage and detach it (the array may be freed later)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


MIP = 4  # zoomed out below 1/MIP, draw a 1/MIP copy (area-averaged: less aliasing, 16x fewer pixels)


class ImageItem(QGraphicsPixmapItem):
    def __init__(self) -> None:
        super().__init__()
        self.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.setZValue(0)
        self._small: QPixmap | None = None
        self.display = None  # rgb -> display copy (brightness/contrast/gamma, gui/panels/tone_panel.py)

    def set_image(self, rgb: np.ndarray | None) -> None:
        if rgb is not None and self.display is not None:
            rgb = self.display(rgb)  # a copy for the eye only: the data is never changed
        self.setPixmap(QPixmap() if rgb is None else QPixmap.fromImage(rgb_to_qimage(rgb)))
        self._small = None
        if rgb is not None and min(rgb.shape[:2]) >= 4 * MIP:
            h, w = rgb.shape[:2]
            small = cv2.resize(rgb, (max(1, w // MIP), max(1, h // MIP)), interpolation=cv2.INTER_AREA)
            self._small = QPixmap.fromImage(rgb_to_qimage(small))

    def paint(self, painter, option, widget=None) -> None:
        if self._small is not None and option.levelOfDetailFromTransform(painter.worldTransform()) < 1 / MIP:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawPixmap(self.boundingRect(), self._small, QRectF(self._small.rect()))
            return
        super().paint(painter, option, widget)
