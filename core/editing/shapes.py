"""Rasterise brush capsules and polygons into small windows (never a full-image array).

A shape is returned as (x0, y0, mask): the bool mask of the window whose top-left pixel is
(x0, y0), already clipped to the image. None when the shape misses the image entirely.
"""
from __future__ import annotations

import cv2
import numpy as np

from maskwork.core.domain.errors import InputError

Window = tuple[int, int, np.ndarray]


def _clip(x0: int, y0: int, x1: int, y1: int, height: int, width: int):
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    return None if x0 >= x1 or y0 >= y1 else (x0, y0, x1, y1)


def capsule(p0, p1, radius: int, height: int, width: int) -> Window | None:
    """Pixels whose centre lies within radius + 0.5 of the segment p0-p1 (points (x, y), rounded).

    Radius r gives a stroke 2r+1 pixels wide with round caps, like cv2.line(thickness=2r+1), but
    defined exactly: all comparisons are integer, so the shape does not depend on the window.
    """
    r = int(round(radius))
    if r < 0:
        raise InputError(f"brush radius must be 0 or more pixels, got {radius}")
    ax, ay = (int(round(v)) for v in p0)
    bx, by = (int(round(v)) for v in p1)
    box = _clip(min(ax, bx) - r, min(ay, by) - r, max(ax, bx) + r + 1, max(ay, by) + r + 1, height, width)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    inside = np.empty((y1 - y0, x1 - x0), bool)
    rows = max(1, _BLOCK // (x1 - x0))  # row blocks bound the int64 temporaries of a huge brush
    for r0 in range(y0, y1, rows):
        r1 = min(y1, r0 + rows)
        inside[r0 - y0 : r1 - y0] = _capsule_block(x0, x1, r0, r1, ax, ay, bx, by, r)
    return x0, y0, inside


_BLOCK = 1 << 18  # pixels per block


def _capsule_block(x0, x1, y0, y1, ax, ay, bx, by, r) -> np.ndarray:
    xs = np.arange(x0, x1, dtype=np.int64)[None, :]
    ys = np.arange(y0, y1, dtype=np.int64)[:, None]
    d2 = (2 * r + 1) ** 2  # distance <= r + 0.5  <=>  4 * dist^2 <= (2r + 1)^2
    inside = 4 * ((xs - ax) ** 2 + (ys - ay) ** 2) <= d2
    vx, vy = bx - ax, by - ay
    length2 = vx * vx + vy * vy
    if length2:
        inside |= 4 * ((xs - bx) ** 2 + (ys - by) ** 2) <= d2
        dot = (xs - ax) * vx + (ys - ay) * vy
        cross = (xs - ax) * vy - (ys - ay) * vx
        inside |= (dot >= 0) & (dot <= length2) & (4 * cross * cross <= d2 * length2)
    return inside


def polygon(points, height: int, width: int) -> Window | None:
    """Filled polygon (cv2.fillPoly, 8-connected edges included) of points [(x, y), ...]."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise InputError(f"a polygon needs at least 3 points (x, y); got {len(pts) if pts.ndim else 0}")
    if not np.isfinite(pts).all():
        raise InputError("polygon points must be finite numbers")
    pts = np.round(pts).astype(np.int64)
    box = _clip(int(pts[:, 0].min()), int(pts[:, 1].min()), int(pts[:, 0].max()) + 1,
                int(pts[:, 1].max()) + 1, height, width)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    canvas = np.zeros((y1 - y0, x1 - x0), np.uint8)
    # fillPoly clips to the canvas, so points outside the image still give the right inside part
    cv2.fillPoly(canvas, [(pts - (x0, y0)).astype(np.int32)], 1, lineType=cv2.LINE_8)
    return x0, y0, canvas.view(bool)
