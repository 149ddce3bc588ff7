"""The click simulator of the interactive-segmentation literature, for benchmarks and tests.

Each next click goes to the interior point farthest from the boundary of the biggest error region:
positive where the object was missed, negative where background was taken. "Biggest" is measured
as in the reference protocol (Xu et al. 2016; Sofiiuk et al., RITM, 2022): the error (missed or
wrongly included) whose deepest point lies farthest from any boundary wins, so a thin band along
an almost-right outline does not draw the click away from a missing arm. Distances come from a
distance transform padded so the image border counts as boundary.
"""
from __future__ import annotations

import math
from typing import Callable

import cv2
import numpy as np

from maskwork.core.domain.masks import Mask
from maskwork.core.interactive.prompt import Prompt


def _deepest(region: np.ndarray) -> tuple[float, int, int]:
    """(distance, x, y) of the pixel of `region` farthest from its boundary (0 when empty)."""
    if not region.any():
        return 0.0, -1, -1
    dist = cv2.distanceTransform(np.pad(region, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    k = int(np.argmax(dist))
    y, x = divmod(k, region.shape[1])
    return float(dist[y, x]), x, y


def next_click(truth: Mask, pred: Mask) -> tuple[int, int, bool] | None:
    """The simulated user's next click (x, y, positive) in image pixels, or None when pred == truth."""
    boxes = [m for m in (truth, pred) if not m.is_empty]
    if not boxes:
        return None
    x0, y0 = min(m.x0 for m in boxes), min(m.y0 for m in boxes)
    x1, y1 = max(m.x1 for m in boxes), max(m.y1 for m in boxes)
    t, p = truth.region(x0, y0, x1, y1), pred.region(x0, y0, x1, y1)
    d_fn, fx, fy = _deepest(t & ~p)
    d_fp, px, py = _deepest(p & ~t)
    if d_fn == 0.0 and d_fp == 0.0:
        return None
    if d_fn >= d_fp:
        return fx + x0, fy + y0, True
    return px + x0, py + y0, False


def box_of(truth: Mask) -> tuple[int, int, int, int]:
    """The tight box x0, y0, x1, y1 (exclusive) of a mask, as a user would drag it."""
    return truth.x0, truth.y0, truth.x1, truth.y1


def simulate(run: Callable[[Prompt], Mask], truth: Mask, use_box: bool, max_clicks: int = 20,
             stop_at: float | None = None, min_clicks: int = 0) -> list[float]:
    """IoU after the box alone (index 0; nan without a box) and after each simulated click (1..n).

    Stops early once IoU >= stop_at and at least min_clicks were made (the later values would be
    needed only for curves); a tool that cannot run on a prompt (InputError) scores 0 for it."""
    from maskwork.core.domain.errors import InputError

    prompt = Prompt(box=box_of(truth) if use_box else None)
    empty = Mask.empty(truth.height, truth.width)
    ious = [math.nan]
    pred = empty
    if use_box:
        try:
            pred = run(prompt)
        except InputError:
            pred = empty
        ious[0] = pred.iou(truth)
    for k in range(1, max_clicks + 1):
        click = next_click(truth, pred)
        if click is None:  # perfect already: later clicks change nothing
            ious += [1.0] * (max_clicks - k + 1)
            break
        prompt.points.append(click)
        try:
            pred = run(prompt)
        except InputError:
            pred = empty
        ious.append(pred.iou(truth))
        if stop_at is not None and k >= min_clicks and ious[-1] >= stop_at:
            break
    return ious


def noc(ious: list[float], threshold: float, max_clicks: int = 20) -> int:
    """Clicks needed to reach IoU >= threshold (0 when the box alone does); max_clicks when never."""
    for k, v in enumerate(ious[: max_clicks + 1]):
        if not math.isnan(v) and v >= threshold:
            return k
    return max_clicks


def iou_after(ious: list[float], clicks: int) -> float:
    """IoU after `clicks` clicks; a run stopped early keeps its last value (it only improved to there)."""
    if clicks < len(ious):
        return ious[clicks]
    return ious[-1]
