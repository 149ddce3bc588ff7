"""The photo under the overlays: a QImage in the screen's 32-bit format, drawn as it is (no QPixmap).

`prepare(rgb, display)` makes the full-size image and its 1/4 copy from the RGB array (through the
display transform, e.g. brightness/contrast/gamma); it runs in any thread, so for a big image
gui/image_loader.py calls it in the worker that decoded the file and the GUI thread only installs
the result (a QPixmap would cost a 192 MB conversion there for 48 MP, a tone ~0.2 s more).
`ImageItem.display` is None or a frozen transform, replaced (never changed) when the setting changes:
a picture made with the transform that is still current is installed as it is.
"""
from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from maskwork.gui.release import release_later

MIP = 4  # zoomed out below 1/MIP, draw a 1/MIP copy (area-averaged: less aliasing, 16x fewer pixels)


class Picture:
    """A QImage over a BGRA numpy buffer it keeps alive (no copy; OpenCV releases the GIL converting)."""

    def __init__(self, rgb: np.ndarray) -> None:
        self.pixels = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGRA)  # = Qt's RGB32 layout
        h, w = self.pixels.shape[:2]
        self.image = QImage(self.pixels.data, w, h, self.pixels.strides[0], QImage.Format.Format_RGB32)


def prepare(rgb: np.ndarray | None, display=None) -> tuple[Picture, Picture | None] | None:
    """The full-size picture of `display(rgb)` (rgb itself without one) and its 1/MIP copy (None when the
    image is too small to need one)."""
    if rgb is None:
        return None
    if display is not None:
        rgb = display(rgb)  # a display copy; the image data itself never changes
    small = None
    if min(rgb.shape[:2]) >= 4 * MIP:
        h, w = rgb.shape[:2]
        small = Picture(cv2.resize(rgb, (max(1, w // MIP), max(1, h // MIP)), interpolation=cv2.INTER_AREA))
    return Picture(rgb), small


class ImageItem(QGraphicsItem):
    def __init__(self) -> None:
        super().__init__()
        self.setZValue(0)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._full: Picture | None = None
        self._small: Picture | None = None
        self.display = None  # None or a frozen rgb -> display copy (brightness/contrast/gamma, tone_panel.py)

    def set_image(self, rgb: np.ndarray | None, prepared=None, made_with=None) -> None:
        """Show `rgb`; `prepared` = prepare(rgb, made_with) made earlier (in a worker) when there is one.
        It is used only if `made_with` is still the display transform (the setting may have changed
        while the image loaded); otherwise the picture is made here."""
        if prepared is not None and made_with is not self.display:
            prepared = None
        self.prepareGeometryChange()
        release_later([self._full, self._small])  # the previous picture (192 MB at 48 MP) is freed elsewhere
        made = (prepared or prepare(rgb, self.display)) if rgb is not None else None
        self._full, self._small = made or (None, None)
        self.update()

    def has_image(self) -> bool:
        return self._full is not None

    def boundingRect(self) -> QRectF:
        if self._full is None:
            return QRectF()
        return QRectF(0, 0, self._full.image.width(), self._full.image.height())

    def paint(self, painter, option, widget=None) -> None:
        if self._full is None:
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        if self._small is not None and option.levelOfDetailFromTransform(painter.worldTransform()) < 1 / MIP:
            painter.drawImage(self.boundingRect(), self._small.image, QRectF(self._small.image.rect()))
            return
        exposed = option.exposedRect.intersected(self.boundingRect())  # only what is on screen
        painter.drawImage(exposed, self._full.image, exposed)

