"""A semantic label map's borders moved onto the image's edges (issue 21), weight-free.

Each class's 0/1 map is smoothed by the colour guided filter of edges.py (He et al. 2010, the RGB image
as guide) and every pixel takes the class whose filtered map is highest there: a border moves onto the
colour edge within one filter radius and a region far from any border keeps its class. The guide's
statistics (window means and the inverse of each window's colour covariance) are shared by every class,
so K classes cost little more than one. The work runs in strips of rows (with the filter's reach as
overlap) to keep memory at a few strips whatever the image's size; a strip with one class is skipped.

`refine_semantic` is what CLI, "Run on all images" and the window call: in a map a person has edited
(the corrected layer), only pixels still holding the model's class may change, never a pixel of a
locked class nor into one.
"""
from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from maskwork.core.domain.progress import CancelToken, ProgressFn, check, report
from maskwork.core.refine.edges import DEFAULT, EdgeParams, box_mean, guide_stats, radius_for, rgb01

STRIP_ROWS = 256  # rows refined at a time (plus the filter's reach above and below)
FAST_STEP_DIV = 8  # coefficients on a grid radius / 8 pixels apart (radius 16: every 2nd; measured as good as exact)


def refine_label_map(image: np.ndarray, label_map: np.ndarray, params: EdgeParams = DEFAULT,
                     progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> np.ndarray:
    """A new label map whose class borders follow the image's colour edges (same dtype and classes)."""
    height, width = label_map.shape
    r = radius_for(height, width, params)
    reach = 2 * r + 1  # two box filters deep: rows further than this from a strip never change it
    out = label_map.copy()
    starts = list(range(0, height, STRIP_ROWS))
    for n, y0 in enumerate(starts):
        check(cancel)
        report(progress, n, len(starts), "refining region borders")
        y1 = min(height, y0 + STRIP_ROWS)
        a, b = max(0, y0 - reach), min(height, y1 + reach)
        labels = label_map[a:b]
        classes = np.unique(labels)
        if len(classes) < 2:
            continue
        best = _filtered_argmax(rgb01(image[a:b]), labels, classes, r, params.eps)
        out[y0:y1] = best[y0 - a : y1 - a]
    report(progress, len(starts), len(starts), "refined")
    return out


def refine_semantic(image: np.ndarray, label_map: np.ndarray, prediction: np.ndarray | None = None,
                    locked_classes: Iterable[int] = (), params: EdgeParams = DEFAULT,
                    progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> np.ndarray:
    """`label_map` refined. With `prediction` (the model's map the person started from), a pixel where
    the two differ is the person's and keeps its class; pixels of a locked class, or that would become
    one, keep theirs too."""
    out = refine_label_map(image, label_map, params, progress, cancel)
    keep = np.zeros(label_map.shape, bool) if prediction is None else label_map != prediction
    locked = np.asarray(sorted(set(locked_classes)), label_map.dtype)
    if locked.size:
        keep |= np.isin(label_map, locked) | np.isin(out, locked)
    if keep.any():
        out[keep] = label_map[keep]
    return out


def _inverse_sym3(s: np.ndarray) -> np.ndarray:
    """Inverse of symmetric 3x3 matrices (..., 3, 3) by cofactors (regularised, so never singular)."""
    a, b, c = s[..., 0, 0], s[..., 0, 1], s[..., 0, 2]
    d, e, f = s[..., 1, 1], s[..., 1, 2], s[..., 2, 2]
    inv = np.empty_like(s)
    inv[..., 0, 0] = d * f - e * e
    inv[..., 0, 1] = inv[..., 1, 0] = c * e - b * f
    inv[..., 0, 2] = inv[..., 2, 0] = b * e - c * d
    inv[..., 1, 1] = a * f - c * c
    inv[..., 1, 2] = inv[..., 2, 1] = b * c - a * e
    inv[..., 2, 2] = a * d - b * b
    det = a * inv[..., 0, 0] + b * inv[..., 0, 1] + c * inv[..., 0, 2]
    return inv / det[..., None, None]


def _filtered_argmax(guide: np.ndarray, labels: np.ndarray, classes: np.ndarray, r: int, eps: float) -> np.ndarray:
    """He's fast guided filter (2015): the linear coefficients are computed on a grid `step` times coarser
    (radius r / step) and stretched back; the output is still a * image + b at full resolution."""
    height, width = labels.shape
    step = max(1, r // FAST_STEP_DIV)
    size = (max(1, width // step), max(1, height // step))
    small = cv2.resize(guide, size, interpolation=cv2.INTER_AREA) if step > 1 else guide
    rs = max(1, round(r / step))
    means, sigma = guide_stats(small, rs, eps)
    inv = _inverse_sym3(sigma)
    best = np.full(labels.shape, -np.inf, np.float32)
    out = labels.copy()
    for c in classes:
        p = (labels == c).astype(np.float32)
        if step > 1:
            p = cv2.resize(p, size, interpolation=cv2.INTER_AREA)
        mean_p = box_mean(p, rs)
        cov = [box_mean(small[:, :, k] * p, rs) - means[k] * mean_p for k in range(3)]
        a = [inv[:, :, k, 0] * cov[0] + inv[:, :, k, 1] * cov[1] + inv[:, :, k, 2] * cov[2] for k in range(3)]
        b = mean_p - a[0] * means[0] - a[1] * means[1] - a[2] * means[2]
        q = _full(box_mean(b, rs), step, width, height)
        for k in range(3):
            q += _full(box_mean(a[k], rs), step, width, height) * guide[:, :, k]
        higher = q > best
        best[higher], out[higher] = q[higher], c
    return out


def _full(a: np.ndarray, step: int, width: int, height: int) -> np.ndarray:
    return cv2.resize(a, (width, height), interpolation=cv2.INTER_LINEAR) if step > 1 else a
