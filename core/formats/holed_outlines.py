"""A mask's parts as single polygons that keep their holes: for formats with one outline per object (YOLO).

Each hole ring is spliced into its part's ring by a zero-width bridge from the hole's vertex nearest to
the ring, walked there and back, and runs against the outer ring. The bridge encloses nothing, so both
fill rules leave the hole empty: even-odd (pycocotools, OpenCV's fillPoly in Ultralytics' loader) and
non-zero. On nuclei and coco_sample every object comes back pixel for pixel through pycocotools
(tests/unit/test_yolo_labels.py); Ultralytics' own converters fill holes instead (RETR_EXTERNAL).
"""
from __future__ import annotations

import numpy as np

from maskwork.core.domain.masks import Mask
from maskwork.core.formats.coco_export import traced_rings


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _splice(ring: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """`ring` walked to its vertex nearest to `hole`, round the hole (against the ring), and back."""
    from scipy.spatial import cKDTree

    dist, nearest = cKDTree(ring).query(hole)
    j = int(np.argmin(dist))
    i = int(nearest[j])
    if (_signed_area(ring) > 0) == (_signed_area(hole) > 0):
        hole, j = hole[::-1], len(hole) - 1 - j
    hole = np.roll(hole, -j, axis=0)
    return np.concatenate([ring[: i + 1], hole, hole[:1], ring[i:]])


def outlines_with_holes(mask: Mask) -> tuple[list[list[float]], int]:
    """One polygon [x1, y1, x2, y2, ...] per part of the mask, its holes spliced in; and the number of holes."""
    if mask.is_empty:
        return [], 0
    traced = traced_rings(mask)
    rings = {k: pts for k, (pts, parent) in enumerate(traced) if parent == -1 and len(pts) >= 3}
    holes = 0
    for pts, parent in traced:
        if parent != -1 and parent in rings and len(pts) >= 3:
            rings[parent] = _splice(rings[parent], pts)
            holes += 1
    return [[round(float(v), 2) for v in ring.ravel()] for ring in rings.values()], holes
