"""COCO RLE of a mask kept as its bounding box (a Mask's crop), without building the full image.

pycocotools.mask.encode scans a full H x W array per object: turning the 300 detections of one image
into COCO records cost 300 full images (most of the time `compare` spent beside the models). Here the
runs are found in the crop, moved to the image's column-major positions, and pycocotools packs the
counts into its compressed string: the same bytes as encoding the full mask (tests check that).
"""
from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils


def box_counts(x0: int, y0: int, crop: np.ndarray, height: int, width: int) -> list[int]:
    """Uncompressed COCO counts (column-major runs, zeros first) of `crop` placed at (x0, y0)."""
    total = height * width
    if crop.size == 0 or not crop.any():
        return [total]
    h = crop.shape[0]
    padded = np.zeros((h + 2, crop.shape[1]), np.int8)  # a zero row above and below each column: runs end there
    padded[1:-1] = crop
    flat = padded.ravel(order="F")
    change = np.flatnonzero(np.diff(flat))  # run k of ones is [change[2k] + 1, change[2k + 1] + 1) in flat
    starts, ends = change[0::2] + 1, change[1::2] + 1
    col_s, row_s = np.divmod(starts, h + 2)
    col_e, row_e = np.divmod(ends, h + 2)  # a run ends on the padding row of its own column
    starts = (x0 + col_s) * height + (y0 + row_s - 1)
    ends = (x0 + col_e) * height + (y0 + row_e - 1)
    # a crop as tall as the image: a run at the bottom of one column goes on at the top of the next
    joined = ends[:-1] == starts[1:]
    if joined.any():
        starts = starts[np.concatenate(([True], ~joined))]
        ends = ends[np.concatenate((~joined, [True]))]
    bounds = np.empty(2 * starts.size + 2, np.int64)
    bounds[0], bounds[1:-1:2], bounds[2:-1:2], bounds[-1] = 0, starts, ends, total
    counts = np.diff(bounds)
    if counts[-1] == 0:  # the mask reaches the last pixel: pycocotools ends on that run of ones
        counts = counts[:-1]
    return counts.tolist()


def encode_box(x0: int, y0: int, crop: np.ndarray, height: int, width: int) -> dict:
    """Compressed COCO RLE ({"size": [h, w], "counts": bytes}) equal to mask_utils.encode of the full mask."""
    counts = box_counts(x0, y0, crop, height, width)
    return mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width)
