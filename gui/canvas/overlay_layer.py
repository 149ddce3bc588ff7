"""A layer overlay drawn as tiles of premultiplied ARGB QImages, repainted only inside dirty boxes.

An 8000x6000 image needs ~190 MB as one RGBA overlay; tiles are allocated only where the layer
has content, and an edit re-renders just the tiles (and the window inside them) its box touches.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from maskwork.core.domain.annotation import Layer
from maskwork.core.view.render import render_window
from maskwork.gui.release import release_later

TILE = 512
MIP = 4            # zoomed out below 1/MIP, tiles are drawn from a 1/MIP copy (4x fewer rows to scale)
MIP_BELOW = 1 / MIP


def _wrap(arr: np.ndarray) -> tuple[np.ndarray, QImage]:
    """A QImage over a BGRA array (no copy: the array is kept next to it)."""
    return arr, QImage(arr.data, arr.shape[1], arr.shape[0], arr.strides[0], QImage.Format.Format_ARGB32_Premultiplied)


def _mip_of(arr: np.ndarray) -> tuple[np.ndarray, QImage]:
    return _wrap(np.ascontiguousarray(arr[::MIP, ::MIP]))


def render_tiles(layer, lut: np.ndarray, width: int, height: int) -> tuple[dict, dict]:
    """The tiles reset() would render for this layer and their zoomed-out copies (numpy and QImage
    only: gui/image_loader.py calls this in a worker, so a 48 MP layer costs the GUI thread nothing)."""
    tiles: dict = {}
    if layer is None or layer.is_empty() or lut is None:
        return tiles, {}
    for by0 in range(0, height, TILE):
        for bx0 in range(0, width, TILE):
            box = (bx0, by0, min(width, bx0 + TILE), min(height, by0 + TILE))
            arr = render_window(layer, box, lut)
            if arr[..., 3].any():
                tiles[(bx0 // TILE, by0 // TILE)] = _wrap(arr)
    return tiles, {key: _mip_of(arr) for key, (arr, _) in tiles.items()}


class OverlayItem(QGraphicsItem):
    def __init__(self, z: float) -> None:
        super().__init__()
        self.setZValue(z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._size = (0, 0)  # (width, height)
        self._tiles: dict[tuple[int, int], tuple[np.ndarray, QImage]] = {}
        self._mips: dict[tuple[int, int], tuple[np.ndarray, QImage]] = {}
        self.layer: Layer | None = None
        self.lut: np.ndarray | None = None
        self.rendered_pixels = 0  # pixels rendered since the last full reset (tests check locality)
        # layer -> the layer drawn (objects hidden in the Objects panel left out)
        self.view_filter: Callable[[Layer | None], Layer | None] | None = None

    # ---- content ------------------------------------------------------------------------
    def reset(self, layer, lut: np.ndarray, width: int, height: int, made: tuple | None = None) -> None:
        """New image or new layer: drop every tile and render all content once (or take `made`,
        render_tiles() of the same layer, lut and size, made in a worker)."""
        self.prepareGeometryChange()
        self._size = (width, height)
        release_later(self._tiles, self._mips)  # up to ~400 MB of a 48 MP image's tiles: freed elsewhere
        self._tiles, self._mips = {}, {}
        self.layer, self.lut = layer, lut
        self.rendered_pixels = 0
        if made is not None:
            self._tiles.update(made[0])
            self._mips.update(made[1])
        elif layer is not None and not layer.is_empty():
            self.refresh((0, 0, width, height))
        self.update()

    def refresh(self, box: tuple[int, int, int, int] | None) -> None:
        """Re-render the window box = (x0, y0, x1, y1) of the layer (None: everything)."""
        w, h = self._size
        if w == 0 or self.lut is None:
            return
        x0, y0, x1, y1 = box if box is not None else (0, 0, w, h)
        x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))
        if x0 >= x1 or y0 >= y1:
            return
        for ty in range(y0 // TILE, (y1 - 1) // TILE + 1):
            for tx in range(x0 // TILE, (x1 - 1) // TILE + 1):
                self._refresh_tile(tx, ty, (x0, y0, x1, y1), self.lut)
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def _refresh_tile(self, tx: int, ty: int, box, lut: np.ndarray) -> None:
        w, h = self._size
        bx0, by0 = tx * TILE, ty * TILE
        bx1, by1 = min(w, bx0 + TILE), min(h, by0 + TILE)
        wx0, wy0, wx1, wy1 = max(box[0], bx0), max(box[1], by0), min(box[2], bx1), min(box[3], by1)
        tile = self._tiles.get((tx, ty))
        layer = self.layer if self.view_filter is None else self.view_filter(self.layer)
        if tile is None:
            pixels = render_window(layer, (wx0, wy0, wx1, wy1), lut)
            self.rendered_pixels += pixels.shape[0] * pixels.shape[1]
            if not pixels[..., 3].any():
                return  # nothing to show: keep the tile unallocated
            arr = np.zeros((by1 - by0, bx1 - bx0, 4), np.uint8)
            image = QImage(arr.data, arr.shape[1], arr.shape[0], arr.strides[0],
                           QImage.Format.Format_ARGB32_Premultiplied)
            self._tiles[(tx, ty)] = tile = (arr, image)
            arr[wy0 - by0 : wy1 - by0, wx0 - bx0 : wx1 - bx0] = pixels
        else:
            arr = tile[0]
            render_window(layer, (wx0, wy0, wx1, wy1), lut,
                          out=arr[wy0 - by0 : wy1 - by0, wx0 - bx0 : wx1 - bx0])
            self.rendered_pixels += (wx1 - wx0) * (wy1 - wy0)
        self._mips.pop((tx, ty), None)  # rebuilt lazily the next time it is drawn zoomed out

    def _mip(self, key) -> QImage:
        mip = self._mips.get(key)
        if mip is None:
            self._mips[key] = mip = _mip_of(self._tiles[key][0])
        return mip[1]

    def pixels(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """The overlay's BGRA pixels in a window (for tests and screenshots)."""
        out = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
        for (tx, ty), (arr, _) in self._tiles.items():
            bx0, by0 = tx * TILE, ty * TILE
            ix0, iy0 = max(x0, bx0), max(y0, by0)
            ix1, iy1 = min(x1, bx0 + arr.shape[1]), min(y1, by0 + arr.shape[0])
            if ix0 < ix1 and iy0 < iy1:
                out[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = arr[iy0 - by0 : iy1 - by0, ix0 - bx0 : ix1 - bx0]
        return out

    # ---- QGraphicsItem ------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._size[0], self._size[1])

    def paint(self, painter: QPainter, option, widget=None) -> None:
        exposed = option.exposedRect
        zoomed_out = option.levelOfDetailFromTransform(painter.worldTransform()) < MIP_BELOW
        for key, (arr, image) in self._tiles.items():
            rect = QRectF(key[0] * TILE, key[1] * TILE, arr.shape[1], arr.shape[0])
            if rect.intersects(exposed):
                painter.drawImage(rect, self._mip(key) if zoomed_out else image)
