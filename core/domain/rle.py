"""COCO RLE -> the object's bounding box and pixels, without decoding the whole image for every object.

pycocotools.mask.decode writes a full H x W array per object: reading 4,000 nuclei costs 4,000
full images. Here the counts are read (the compressed string format of pycocotools' maskApi.c
rleFrString), the object's bounding box is computed from the runs, and only that box is filled:
a one-pixel object on a 14000 x 14000 image costs one byte, not a column strip of the image.
Tests check the result against pycocotools on random and real masks. Mask.from_rle wraps the box in a Mask
(this module knows nothing of Mask, so core.domain.masks can use it without an import cycle).
"""
from __future__ import annotations

import numpy as np

Box = tuple[int, int, np.ndarray]  # (x0, y0, bool crop): a Mask's fields without the image size
MAX_VALUE_CHARS = 12  # 60 bits: more than any count of an image below 2**32 pixels needs


def counts_from_string(s: bytes) -> list[int] | None:
    """Uncompressed counts of a compressed RLE string; None when the string is malformed."""
    counts: list[int] = []
    p, n = 0, len(s)
    while p < n:
        x, k, more = 0, 0, True
        while more:
            if p >= n:
                return None  # the last value never ends
            c = s[p] - 48
            if c < 0 or c > 63:
                return None
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if k > MAX_VALUE_CHARS:
                return None  # no pixel count needs that many digits; long ones cost quadratic time
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]  # values after the third are stored as differences
        counts.append(x)
    return counts


def box_from_counts(counts: list[int], h: int, w: int) -> Box | None:
    """Box of uncompressed counts (column-major runs, zeros first); None if they do not fit h x w.

    Memory is one byte per pixel of the object's bounding box (plus the runs), never per pixel of
    the image or of the columns the object spans."""
    try:
        c = np.asarray(counts, np.int64)
    except (OverflowError, ValueError, TypeError):
        return None
    # each run is checked first so that the sum of many huge runs cannot wrap around to h * w
    if c.ndim != 1 or c.size == 0 or (c < 0).any() or (c > h * w).any() or int(c.sum()) != h * w:
        return None
    ends = np.cumsum(c)
    on_s, on_e = (ends - c)[1::2], ends[1::2]  # the runs of ones: [start, end) in column-major order
    keep = on_e > on_s
    on_s, on_e = on_s[keep], on_e[keep]
    if on_s.size == 0:
        return 0, 0, np.zeros((0, 0), bool)
    col_s, row_s = np.divmod(on_s, h)
    col_e, row_e = np.divmod(on_e - 1, h)  # last pixel of each run
    x0, x1 = int(col_s[0]), int(col_e[-1]) + 1
    if (col_e > col_s).any():  # a run wraps into the next column: it touches the top and bottom rows
        y0, y1 = 0, h
    else:
        y0, y1 = int(row_s.min()), int(row_e.max()) + 1
    ch = y1 - y0
    # runs in the crop's own column-major order: a run inside one column stays contiguous there,
    # and a wrapping run only occurs when the crop has every row (ch == h)
    s = (col_s - x0) * ch + (row_s - y0)
    e = s + (on_e - on_s)
    lengths = np.empty(2 * s.size + 1, np.int64)
    lengths[0::2][:-1] = s - np.concatenate(([0], e[:-1]))  # zeros before each run
    lengths[1::2] = e - s
    lengths[-1] = (x1 - x0) * ch - e[-1]
    values = np.zeros(lengths.size, bool)
    values[1::2] = True
    crop = np.repeat(values, lengths).reshape(x1 - x0, ch).T  # (rows, columns) of the bounding box
    return x0, y0, np.ascontiguousarray(crop)


def decode_box(rle: dict, h: int, w: int) -> Box:
    """A COCO RLE (compressed bytes/str counts or a list) as a Box; ValueError if it is invalid.

    Stricter than pycocotools.mask.decode, which returns uninitialised memory for counts that do
    not cover the image (e.g. b"1" for 3 x 3): here such an RLE is refused."""
    counts = rle["counts"]
    if isinstance(counts, str):
        counts = counts.encode("ascii", "replace")
    parsed = counts_from_string(counts) if isinstance(counts, bytes) else list(counts)
    if parsed is None:
        raise ValueError("the compressed counts string is malformed")
    box = box_from_counts(parsed, h, w)
    if box is None:
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in parsed):
            raise ValueError("the runs are not all whole numbers")
        if any(v < 0 for v in parsed):
            raise ValueError("the runs hold negative lengths")
        raise ValueError(f"the runs cover {sum(parsed)} pixels but the image has {h}x{w} = {h * w}")
    return box
