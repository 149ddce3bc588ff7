"""COCO RLE -> Mask without decoding the whole image for every object.

pycocotools.mask.decode writes a full H x W array per object: reading 4,000 nuclei costs 4,000
full images. Here the counts are read (the compressed string format of pycocotools' maskApi.c
rleFrString) and only the columns the object spans are filled. Tests check the result against
pycocotools on random and real masks.
"""
from __future__ import annotations

import numpy as np
from core.masks import Mask


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
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]  # values after the third are stored as differences
        counts.append(x)
    return counts


def mask_from_counts(counts: list[int], h: int, w: int) -> Mask | None:
    """Mask of uncompressed counts (column-major runs, zeros first); None if they do not fit h x w."""
    c = np.asarray(counts, np.int64)
    if c.size == 0 or (c < 0).any() or int(c.sum()) != h * w:
        return None
    ends = np.cumsum(c)
    starts = ends - c
    on_s, on_e = starts[1::2], ends[1::2]
    keep = on_e > on_s
    on_s, on_e = on_s[keep], on_e[keep]
    if on_s.size == 0:
        return Mask.empty(h, w)
    col0, col1 = int(on_s[0]) // h, (int(on_e[-1]) - 1) // h + 1
    base, size = col0 * h, (col1 - col0) * h
    delta = np.bincount(on_s - base, minlength=size + 1) - np.bincount(on_e - base, minlength=size + 1)
    strip = (np.cumsum(delta[:size]) > 0).reshape(col1 - col0, h).T  # (h, columns spanned)
    return Mask.from_crop(h, w, col0, 0, strip)


def mask_from_coco_rle(rle: dict, h: int, w: int) -> Mask:
    """A COCO RLE (compressed bytes/str counts or a list) as a Mask; ValueError if it is invalid.

    Stricter than pycocotools.mask.decode, which returns uninitialised memory for counts that do
    not cover the image (e.g. b"1" for 3 x 3): here such an RLE is refused."""
    counts = rle["counts"]
    if isinstance(counts, str):
        counts = counts.encode("ascii", "replace")
    parsed = counts_from_string(counts) if isinstance(counts, bytes) else list(counts)
    if parsed is None:
        raise ValueError("the compressed counts string is malformed")
    mask = mask_from_counts(parsed, h, w)
    if mask is None:
        total = sum(parsed)
        raise ValueError(f"the runs cover {total} pixels but the image has {h}x{w} = {h * w}"
                         if total != h * w else "the runs hold negative lengths")
    return mask
