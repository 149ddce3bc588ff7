"""numpy -> QImage/QPixmap (copies, so the array may be freed or changed afterwards)."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def to_qimage(arr: np.ndarray) -> QImage:
    """(H, W, 3) RGB or (H, W, 4) RGBA uint8 -> QImage (deep copy)."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    h, w = arr.shape[:2]
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    fmt = {1: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_RGB888,
           4: QImage.Format.Format_RGBA8888}[channels]
    return QImage(arr.data, w, h, arr.strides[0], fmt).copy()


def to_pixmap(arr: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(to_qimage(arr))


def premultiplied_to_pixmap(bgra: np.ndarray) -> QPixmap:
    """(H, W, 4) premultiplied BGRA bytes (core.view.render's output) -> QPixmap."""
    bgra = np.ascontiguousarray(bgra, dtype=np.uint8)
    h, w = bgra.shape[:2]
    image = QImage(bgra.data, w, h, bgra.strides[0], QImage.Format.Format_ARGB32_Premultiplied)
    return QPixmap.fromImage(image.copy())
