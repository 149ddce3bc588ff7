"""Operations on a layer's semantic label map. Each mutates the layer and returns an undo record
(LabelMapEdit over the touched window only) or None when no pixel changed."""
from __future__ import annotations

from typing import Iterable

import cv2
import numpy as np

from maskwork.core.domain.annotation import UNLABELED, Layer
from maskwork.core.domain.errors import InputError
from maskwork.core.editing import shapes
from maskwork.core.editing.records import LabelMapEdit, editable_label_map


def _check_class(label_map: np.ndarray, class_id: int) -> int:
    class_id = int(class_id)
    top = np.iinfo(label_map.dtype).max
    if not 0 <= class_id <= top:
        raise InputError(f"class id {class_id} does not fit this {label_map.dtype} label map (0..{top})")
    return class_id


def paint_window(layer: Layer, x0: int, y0: int, shape: np.ndarray, class_id: int, label: str,
                 protect: Iterable[int] = (), only_on: Iterable[int] | None = None) -> LabelMapEdit | None:
    """Write class_id where `shape` (bool window at x0, y0) is set, except over `protect` classes
    and, when `only_on` is given, only over those classes (e.g. [0]: fill only unlabeled pixels)."""
    label_map = editable_label_map(layer)
    class_id = _check_class(label_map, class_id)
    h, w = shape.shape
    window = label_map[y0 : y0 + h, x0 : x0 + w]
    change = shape & (window != class_id)
    protect = list(protect)
    if protect:
        change &= ~np.isin(window, protect)
    if only_on is not None:
        change &= np.isin(window, list(only_on))
    if not change.any():
        return None
    before = window.copy()
    window[change] = class_id
    return LabelMapEdit(label, x0, y0, before, window.copy())


def brush_segment(layer: Layer, p0, p1, radius: int, class_id: int, protect: Iterable[int] = (),
                  only_on: Iterable[int] | None = None) -> LabelMapEdit | None:
    """Paint a round-capped segment p0 -> p1 ((x, y) points) of the given radius with class_id.

    `protect`: class ids never painted over (e.g. keep buildings while painting roads);
    `only_on`: paint only over these class ids (e.g. [0], the unlabeled pixels)."""
    h, w = editable_label_map(layer).shape[:2]
    win = shapes.capsule(p0, p1, radius, h, w)
    return None if win is None else paint_window(layer, *win, class_id, "Brush", protect, only_on)


def erase_segment(layer: Layer, p0, p1, radius: int, protect: Iterable[int] = ()) -> LabelMapEdit | None:
    """Set the segment's pixels back to UNLABELED (0)."""
    h, w = editable_label_map(layer).shape[:2]
    win = shapes.capsule(p0, p1, radius, h, w)
    return None if win is None else paint_window(layer, *win, UNLABELED, "Eraser", protect)


def fill_polygon(layer: Layer, points, class_id: int, protect: Iterable[int] = (),
                 only_on: Iterable[int] | None = None) -> LabelMapEdit | None:
    """Fill the polygon [(x, y), ...] with class_id (cv2.fillPoly on the polygon's window only)."""
    h, w = editable_label_map(layer).shape[:2]
    win = shapes.polygon(points, h, w)
    return None if win is None else paint_window(layer, *win, class_id, "Polygon", protect, only_on)


def flood_fill(layer: Layer, seed, class_id: int) -> LabelMapEdit | None:
    """Fill the 4-connected region of the seed's value with class_id (the bucket tool).

    cv2.floodFill touches only the filled region; the record covers its bounding rectangle.
    A seed outside the image, or on a region already of class_id, changes nothing (None)."""
    label_map = editable_label_map(layer)
    class_id = _check_class(label_map, class_id)
    h, w = label_map.shape[:2]
    x, y = (int(round(v)) for v in seed)
    if not (0 <= x < w and 0 <= y < h):
        return None
    old = int(label_map[y, x])
    if old == class_id:
        return None
    # np.zeros maps lazily zeroed pages: only the rows the fill reaches are ever touched
    region = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | (1 << 8) | cv2.FLOODFILL_MASK_ONLY
    if label_map.dtype == np.uint8 and label_map.flags.c_contiguous:
        source = label_map
    else:  # floodFill takes 8-bit or float images: uint16 maps (> 255 classes) go through float32
        source = label_map.astype(np.float32)
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(source, region, (x, y), 0, 0, 0, flags)
    filled = region[ry + 1 : ry + 1 + rh, rx + 1 : rx + 1 + rw].view(bool)
    window = label_map[ry : ry + rh, rx : rx + rw]
    before = window.copy()
    window[filled] = class_id
    edit = LabelMapEdit("Fill", rx, ry, before, window.copy())
    return edit
