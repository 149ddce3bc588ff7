"""A compact binary mask: a boolean array cropped to its bounding box, plus the image size.

Masks of 300 instances on a 12-megapixel image cost the size of the objects, not 300 full images.
On disk and in COCO they are RLE through pycocotools (lossless, holes kept).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pycocotools import mask as mask_utils

from maskwork.core.domain.rle import decode_box


@dataclass(frozen=True, eq=False)
class Mask:
    """Binary mask of an image of size (height, width), stored as the crop at (x0, y0).

    `crop` is a C-contiguous bool array; an empty mask has a 0x0 crop. Instances are immutable:
    editing returns a new Mask, so undo records can hold the old one safely.
    """

    height: int
    width: int
    x0: int
    y0: int
    crop: np.ndarray

    # ---- construction -------------------------------------------------------------------
    @staticmethod
    def empty(height: int, width: int) -> "Mask":
        return Mask(int(height), int(width), 0, 0, np.zeros((0, 0), bool))

    @staticmethod
    def from_full(full: np.ndarray) -> "Mask":
        """Crop a full-size boolean (or 0/1) array to its bounding box."""
        full = np.asarray(full)
        h, w = full.shape[:2]
        ys = np.flatnonzero(full.any(axis=1))
        if ys.size == 0:
            return Mask.empty(h, w)
        xs = np.flatnonzero(full[ys[0] : ys[-1] + 1].any(axis=0))
        y0, y1, x0, x1 = int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1
        return Mask(h, w, x0, y0, np.ascontiguousarray(full[y0:y1, x0:x1], dtype=bool))

    @staticmethod
    def from_crop(height: int, width: int, x0: int, y0: int, crop: np.ndarray) -> "Mask":
        """Build from a crop that may have empty margins; they are trimmed."""
        crop = np.asarray(crop, bool)
        ys = np.flatnonzero(crop.any(axis=1))
        if ys.size == 0:
            return Mask.empty(height, width)
        xs = np.flatnonzero(crop[ys[0] : ys[-1] + 1].any(axis=0))
        sub = crop[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1]
        return Mask(int(height), int(width), int(x0 + xs[0]), int(y0 + ys[0]), np.ascontiguousarray(sub))

    @staticmethod
    def from_rle(rle: dict) -> "Mask":
        """Decode a COCO RLE (compressed string/bytes counts or uncompressed list counts).

        Strict: counts that do not cover the image exactly raise ValueError (pycocotools would return
        uninitialised memory). Only the object's bounding box is decoded.
        """
        h, w = (int(v) for v in rle["size"])
        x0, y0, crop = decode_box(rle, h, w)
        return Mask(h, w, x0, y0, crop)

    # ---- properties ---------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def is_empty(self) -> bool:
        return self.crop.size == 0

    @property
    def area(self) -> int:
        return int(np.count_nonzero(self.crop))

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(x, y, w, h) of the tight box in pixels; (0, 0, 0, 0) when empty."""
        if self.is_empty:
            return (0, 0, 0, 0)
        return (self.x0, self.y0, int(self.crop.shape[1]), int(self.crop.shape[0]))

    @property
    def x1(self) -> int:
        return self.x0 + int(self.crop.shape[1])

    @property
    def y1(self) -> int:
        return self.y0 + int(self.crop.shape[0])

    # ---- conversion ---------------------------------------------------------------------
    def to_full(self) -> np.ndarray:
        full = np.zeros((self.height, self.width), bool)
        if not self.is_empty:
            full[self.y0 : self.y1, self.x0 : self.x1] = self.crop
        return full

    def region(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """The mask inside the window [x0, x1) x [y0, y1) of the image, as a bool array."""
        out = np.zeros((y1 - y0, x1 - x0), bool)
        if self.is_empty:
            return out
        ix0, iy0 = max(x0, self.x0), max(y0, self.y0)
        ix1, iy1 = min(x1, self.x1), min(y1, self.y1)
        if ix0 < ix1 and iy0 < iy1:
            out[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = self.crop[
                iy0 - self.y0 : iy1 - self.y0, ix0 - self.x0 : ix1 - self.x0
            ]
        return out

    def with_region(self, x0: int, y0: int, pixels: np.ndarray) -> "Mask":
        """A new mask whose pixels in the window at (x0, y0) are replaced by `pixels`."""
        ph, pw = pixels.shape
        if self.is_empty:
            return Mask.from_crop(self.height, self.width, x0, y0, pixels)
        ux0, uy0 = min(x0, self.x0), min(y0, self.y0)
        ux1, uy1 = max(x0 + pw, self.x1), max(y0 + ph, self.y1)
        canvas = self.region(ux0, uy0, ux1, uy1)
        canvas[y0 - uy0 : y0 - uy0 + ph, x0 - ux0 : x0 - ux0 + pw] = pixels
        return Mask.from_crop(self.height, self.width, ux0, uy0, canvas)

    def to_rle(self) -> dict:
        """COCO compressed RLE with `counts` as a str (JSON-ready)."""
        full = np.asfortranarray(self.to_full().astype(np.uint8))
        rle = mask_utils.encode(full)
        rle["counts"] = rle["counts"].decode("ascii")
        return rle

    # ---- comparison ---------------------------------------------------------------------
    def intersection(self, other: "Mask") -> int:
        x0, y0 = max(self.x0, other.x0), max(self.y0, other.y0)
        x1, y1 = min(self.x1, other.x1), min(self.y1, other.y1)
        if self.is_empty or other.is_empty or x0 >= x1 or y0 >= y1:
            return 0
        a = self.crop[y0 - self.y0 : y1 - self.y0, x0 - self.x0 : x1 - self.x0]
        b = other.crop[y0 - other.y0 : y1 - other.y0, x0 - other.x0 : x1 - other.x0]
        return int(np.count_nonzero(a & b))

    def iou(self, other: "Mask") -> float:
        """Intersection over union; two empty masks have IoU 1.0 (they agree perfectly)."""
        inter = self.intersection(other)
        union = self.area + other.area - inter
        return 1.0 if union == 0 else inter / union

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mask):
            return NotImplemented
        if self.shape != other.shape:
            return False
        if self.is_empty or other.is_empty:
            return self.is_empty and other.is_empty
        return (self.x0, self.y0) == (other.x0, other.y0) and np.array_equal(self.crop, other.crop)

    def __hash__(self) -> int:  # masks are compared by content; hashing by identity is enough
        return id(self)

    def __repr__(self) -> str:
        return f"Mask({self.height}x{self.width}, bbox={self.bbox}, area={self.area})"
