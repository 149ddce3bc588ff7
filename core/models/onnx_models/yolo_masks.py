"""YOLO-seg masks at the image's resolution, as Ultralytics' process_mask_native makes them, one box at a time.

Ultralytics (ultralytics/utils/ops.py, 8.4): upsample the prototype-grid logits by f (1, 2 or 4, the
smallest factor that puts the letterbox padding on whole cells), cut the padding, stretch the rest to
the image (F.interpolate bilinear, align_corners=False: both steps), keep logits > 0, then zero the
pixels outside the box (columns c with x1 <= c < x2, rows likewise). Both stretches are separable, so
the pixels inside the box are computed from the few grid cells they read, never the whole image; and
only those cells' logits are computed (coefficients . prototypes on that window, not the whole grid).
`box_logits` does that product and keeps the window (BoxLogits); `BoxLogits.decode` stretches and cuts
it, at once or when the mask is first shown (core/models/lazy_masks.py).

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

from maskwork.core.domain.masks import Mask


@dataclass(frozen=True)
class NativeGrid:
    """The upsampled prototype grid's content (letterbox padding cut) that is stretched onto the image."""

    f: int  # upsampling of the prototype grid
    top: int  # content rows top : top + rows of the upsampled grid
    left: int
    rows: int
    cols: int
    mh: int  # the prototype grid
    mw: int
    height: int  # the image
    width: int


def native_grid(mh: int, mw: int, lb) -> NativeGrid:
    """The factor and padding crop for (mh, mw) prototypes of letterboxed input `lb` (yolo.Letterboxed)."""
    in_h, in_w = lb.tensor.shape[2:]
    s = max(1, in_w // mw)  # input pixels per prototype cell (Ultralytics: 4)
    nh, nw = round(lb.sy * lb.height), round(lb.sx * lb.width)  # the resized image inside the input
    pads = lb.top | (in_h - nh - lb.top) | lb.left | (in_w - nw - lb.left)
    f = s // math.gcd(s, pads)  # every padding a whole number of cells
    return NativeGrid(f, lb.top * f // s, lb.left * f // s, nh * f // s, nw * f // s, mh, mw, lb.height, lb.width)


def _taps(dst: np.ndarray, size: int, scale: float):
    """Source cells and weights of bilinear resampling at output indices `dst` (PyTorch, align_corners=False:
    source = (dst + 0.5) * scale - 0.5, negative clamped to 0, the last cell repeated). Both cell indices
    never decrease along `dst`, so the first and last `dst` give the range of cells read."""
    src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(src.astype(np.int64), size - 1)
    return i0, np.minimum(i0 + 1, size - 1), (src - i0).astype(np.float32)


def _resample(grid: np.ndarray, rows, cols) -> np.ndarray:
    """Rows, then columns: x0 * (1 - w) + x1 * w (in place: the same float32 operations, fewer copies)."""
    r0, r1, wr = rows
    c0, c1, wc = cols
    a = grid[r0] * (1 - wr)[:, None]
    a += grid[r1] * wr[:, None]
    out = a[:, c0]
    out *= 1 - wc
    right = a[:, c1]
    right *= wc
    out += right
    return out


def _reads(lo: int, hi: int, content: int, image: int, offset: int, proto: int, f: int):
    """For image pixels lo..hi-1 along one axis: their taps on the upsampled content, the upsampled cells
    those read (first), and those cells' taps on the prototype grid."""
    px = _taps(np.arange(lo, hi), content, content / image)
    first, last = int(px[0][0]), int(px[1][-1]) + 1
    return px, first, _taps(np.arange(first, last) + offset, proto, 1 / f)


def _windows(lo: np.ndarray, hi: np.ndarray, content: int, image: int, offset: int, proto: int, f: int):
    """The prototype cells [a, b) that image pixels lo..hi-1 read, per box (_reads' range, from its ends)."""
    first = _taps(lo, content, content / image)[0]
    last = _taps(hi - 1, content, content / image)[1]
    return _taps(first + offset, proto, 1 / f)[0], _taps(last + offset, proto, 1 / f)[1] + 1


def box_windows(boxes: np.ndarray, grid: NativeGrid) -> list[tuple[int, ...]]:
    """Per box (N, 4) xyxy in image pixels, clipped to the image: its pixels x0, y0, x1, y1 (x1, y1
    excluded; none when x1 <= x0 or y1 <= y0) and the prototype rows r0, r1 and columns c0, c1 they read."""
    x0, y0 = np.ceil(boxes[:, 0]).astype(np.int64), np.ceil(boxes[:, 1]).astype(np.int64)
    x1 = np.minimum(grid.width, np.ceil(boxes[:, 2]).astype(np.int64))
    y1 = np.minimum(grid.height, np.ceil(boxes[:, 3]).astype(np.int64))
    rows = _windows(y0, y1, grid.rows, grid.height, grid.top, grid.mh, grid.f)
    cols = _windows(x0, x1, grid.cols, grid.width, grid.left, grid.mw, grid.f)
    return list(zip(*(v.tolist() for v in (x0, y0, x1, y1, *rows, *cols))))


class BoxLogits:
    """One detection's mask before decoding: its logits on the prototype cells its box reads.
    (A plain class with slots: one is made per detection above the floor, a dataclass costs more.)"""

    __slots__ = ("logits", "row0", "col0", "pixels", "grid", "cut")

    def __init__(self, logits: np.ndarray, row0: int, col0: int, pixels: tuple[int, ...], grid: NativeGrid,
                 cut: float) -> None:
        self.logits = logits  # (rows, cols) float32: mask coefficients . prototypes on the window
        self.row0 = row0  # the window's first prototype row and column
        self.col0 = col0
        self.pixels = pixels  # the box's pixels x0, y0, x1, y1 (x1, y1 excluded)
        self.grid = grid
        self.cut = cut  # the mask threshold's logit

    def decode(self) -> Mask:
        """The mask at the image's resolution (Ultralytics' process_mask_native, inside the box only)."""
        g, (x0, y0, x1, y1) = self.grid, self.pixels
        rows, ra, up_rows = _reads(y0, y1, g.rows, g.height, g.top, g.mh, g.f)
        cols, ca, up_cols = _reads(x0, x1, g.cols, g.width, g.left, g.mw, g.f)
        r0, c0 = self.row0, self.col0
        up = _resample(self.logits, (up_rows[0] - r0, up_rows[1] - r0, up_rows[2]),
                       (up_cols[0] - c0, up_cols[1] - c0, up_cols[2]))
        inside = _resample(up, (rows[0] - ra, rows[1] - ra, rows[2]), (cols[0] - ca, cols[1] - ca, cols[2]))
        return Mask.from_crop(g.height, g.width, x0, y0, inside > self.cut)


def box_logits(coef: np.ndarray, protos: np.ndarray, window: tuple[int, ...], grid: NativeGrid,
               cut: float = 0.0) -> BoxLogits | None:
    """The logits one detection's mask needs: `coef` (P,) its mask coefficients, `protos` (P, mh, mw) float32,
    `window` its box_windows entry, `cut` the threshold's logit (0 for Ultralytics' 0.5). None when the box
    covers no pixel (an empty mask)."""
    x0, y0, x1, y1, r0, r1, c0, c1 = window
    if x1 <= x0 or y1 <= y0:
        return None
    logits = np.einsum("c,chw->hw", coef, protos[:, r0:r1, c0:c1])  # no BLAS: its threads stall under load
    return BoxLogits(logits, r0, c0, (x0, y0, x1, y1), grid, cut)
