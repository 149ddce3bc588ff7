"""YOLO-seg masks at the image's resolution, as Ultralytics' process_mask_native makes them, one box at a time.

Ultralytics (ultralytics/utils/ops.py, 8.4): upsample the prototype-grid logits by f (1, 2 or 4, the
smallest factor that puts the letterbox padding on whole cells), cut the padding, stretch the rest to
the image (F.interpolate bilinear, align_corners=False: both steps), keep logits > 0, then zero the
pixels outside the box (columns c with x1 <= c < x2, rows likewise). Both stretches are separable, so
the pixels inside the box are computed from the few grid cells they read, never the whole image.

One deliberate difference: Ultralytics recomputes the padding from the input and image shapes (gain =
min(input / image) per side), Maskwork takes it from the letterbox it applied. They agree for every
fixed-size input and almost every dynamic one; when a dynamic input's short side rounds down onto the
stride (449x640 -> 224x320: gain 0.5, but 224/449 < 0.5) Ultralytics' boxes and masks come out
stretched by up to one pixel at the far edge (docs/MODELS.md "Checked against Ultralytics").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from maskwork.core.masks import Mask


@dataclass(frozen=True)
class NativeGrid:
    """The upsampled prototype grid's content (letterbox padding cut) that is stretched onto the image."""

    f: int  # upsampling of the prototype grid
    top: int  # content rows top : top + rows of the upsampled grid
    left: int
    rows: int
    cols: int


def native_grid(mh: int, mw: int, lb) -> NativeGrid:
    """The factor and padding crop for (mh, mw) prototypes of letterboxed input `lb` (yolo.Letterboxed)."""
    in_h, in_w = lb.tensor.shape[2:]
    s = max(1, in_w // mw)  # input pixels per prototype cell (Ultralytics: 4)
    nh, nw = round(lb.sy * lb.height), round(lb.sx * lb.width)  # the resized image inside the input
    pads = lb.top | (in_h - nh - lb.top) | lb.left | (in_w - nw - lb.left)
    f = s // math.gcd(s, pads)  # every padding a whole number of cells
    return NativeGrid(f, lb.top * f // s, lb.left * f // s, nh * f // s, nw * f // s)


def _taps(dst: np.ndarray, size: int, scale: float):
    """Source cells and weights of bilinear resampling at output indices `dst` (PyTorch, align_corners=False:
    source = (dst + 0.5) * scale - 0.5, negative clamped to 0, the last cell repeated)."""
    src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(src.astype(np.int64), size - 1)
    return i0, np.minimum(i0 + 1, size - 1), (src - i0).astype(np.float32)


def _resample(grid: np.ndarray, rows, cols) -> np.ndarray:
    r0, r1, wr = rows
    c0, c1, wc = cols
    a = grid[r0] * (1 - wr)[:, None] + grid[r1] * wr[:, None]
    return a[:, c0] * (1 - wc) + a[:, c1] * wc


def mask_in_box(logits: np.ndarray, box: np.ndarray, grid: NativeGrid, height: int, width: int,
                cut: float = 0.0) -> Mask:
    """The mask of one detection: `logits` on the prototype grid (mh, mw), `box` xyxy in image pixels
    (clipped to the image), `cut` the threshold's logit (0 for Ultralytics' 0.5)."""
    x0, x1 = math.ceil(box[0]), min(width, math.ceil(box[2]))
    y0, y1 = math.ceil(box[1]), min(height, math.ceil(box[3]))
    if x1 <= x0 or y1 <= y0:
        return Mask.empty(height, width)
    rows = _taps(np.arange(y0, y1), grid.rows, grid.rows / height)  # image -> content of the upsampled grid
    cols = _taps(np.arange(x0, x1), grid.cols, grid.cols / width)
    ra, rb = int(rows[0].min()), int(rows[1].max()) + 1  # the content cells they read
    ca, cb = int(cols[0].min()), int(cols[1].max()) + 1
    mh, mw = logits.shape
    up = _resample(logits, _taps(np.arange(ra, rb) + grid.top, mh, 1 / grid.f),
                   _taps(np.arange(ca, cb) + grid.left, mw, 1 / grid.f))
    inside = _resample(up, (rows[0] - ra, rows[1] - ra, rows[2]), (cols[0] - ca, cols[1] - ca, cols[2])) > cut
    return Mask.from_crop(height, width, x0, y0, inside)
