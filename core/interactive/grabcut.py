"""Box to mask: OpenCV GrabCut initialised from the box, refined by clicks and strokes.

Outside the box is sure background, inside probable foreground; positive clicks/strokes are sure
foreground, negative ones sure background, each click widened to its similar-coloured surroundings
(window.grow_seeds). It runs on a window around the box (the margin gives the background colour
model pixels to learn from) with a fixed pixel budget: big objects are cut downscaled (GrabCut costs
about 1 us per pixel and iteration), small ones upscaled (finer edges for 20-pixel nuclei). Only the
biggest part and the parts touching a positive click are kept. When the box alone collapses (the
object looks like its surroundings and GrabCut returns almost nothing) it cuts again with a click at
the box's centre. A box is tight, so the object touches its four sides: a side the cut does not reach gets
a positive stroke from the cut to it and the cut runs again (to_unreached_sides; from the box alone the
whole person, not its shirt). Every default was tuned on the shared nuclei and coco_sample data against
plain cv2.grabCut (bench/bench_interactive.py, docs/BENCHMARKS.md "Interactive").
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.interactive import window as win
from maskwork.core.interactive.prompt import Prompt, Stroke


@dataclass(frozen=True)
class GrabCutParams:
    margin_frac: float = 0.15   # background band around the box, relative to its longest side
    min_margin: int = 16        # ... and at least this many pixels (small nuclei need some background)
    max_pixels: int = 15_000    # working pixels: bigger windows are downscaled (latency; 40k measured no better)
    min_side: int = 200         # smaller windows are upscaled to this side (at most 4x) ...
    max_pixels_up: int = 40_000  # ... within this budget (small people and nuclei gain from it)
    iterations: int = 2         # 3 and 5 measured no better
    click_radius: int = 5       # a click is a disk of this radius (image pixels) ...
    click_frac: float = 0.04    # ... or this share of the box diagonal, if smaller (small objects)
    grow: float = 0.1           # a click also claims similar colours up to this share of the diagonal
    grow_tol: float = 15.0      # ... "similar" = Lab distance below this
    grow_decay: float = 1.0     # ... the k-th click (from 0) reaches 1 / (1 + decay * k) as far
    min_keep: float = 0.2       # a cut keeping less than this share of the box has collapsed
    tight: float = 0.05         # a side of the box farther than this share of it from the cut is "not reached" ...
    tight_radius: int = 2       # ... and gets a positive stroke of this radius from the cut to it (0 = off)


DEFAULT = GrabCutParams()


def _extent(prompt: Prompt) -> tuple[int, int, int, int]:
    if prompt.box is not None:
        return prompt.extent()  # type: ignore[return-value]
    if not prompt.has_positive:
        raise InputError("GrabCut needs a box around the object or a positive stroke inside it; drag a box "
                         "over the object first.")
    return prompt.extent()  # type: ignore[return-value]


def initial_labels(prompt: Prompt, window: win.Window, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """GrabCut's label array at working resolution: box, strokes and clicks as sure/probable labels."""
    w, h = window.work_size
    if prompt.box is not None:
        labels = np.full((h, w), cv2.GC_BGD, np.uint8)
        x0, y0, x1, y1 = window.box_to_work(prompt.box)
        labels[y0:y1, x0:x1] = cv2.GC_PR_FGD
    else:  # strokes only: the positive strokes' extent is probable foreground, the rest probable background
        labels = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
        ys, xs = np.nonzero(pos)
        pad = max(2, int(0.5 * max(xs.max() - xs.min(), ys.max() - ys.min())))
        labels[max(0, ys.min() - pad) : ys.max() + pad + 1,
               max(0, xs.min() - pad) : xs.max() + pad + 1] = cv2.GC_PR_FGD
    labels[neg] = cv2.GC_BGD
    labels[pos] = cv2.GC_FGD
    if not np.isin(labels, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():  # box covers the whole image
        ring = np.zeros_like(pos)
        ring[[0, -1], :], ring[:, [0, -1]] = True, True
        labels[ring & ~pos] = cv2.GC_PR_BGD
    return labels


def click_radius(prompt: Prompt, params: GrabCutParams) -> int:
    extent = prompt.box or prompt.extent()
    if extent is None:  # an empty prompt has no size to scale with
        return 1
    x0, y0, x1, y1 = extent
    return max(1, min(params.click_radius, int(round(params.click_frac * float(np.hypot(x1 - x0, y1 - y0))))))


def grabcut(image: np.ndarray, prompt: Prompt, params: GrabCutParams = DEFAULT) -> Mask:
    mask = _collapse_safe(image, prompt, params)
    strokes = to_unreached_sides(mask, prompt, params) if params.tight_radius > 0 else []
    if strokes:  # the box is tight: the object touches its four sides (Lempitsky et al. 2009's box prior)
        mask = _collapse_safe(image, replace(prompt, strokes=[*prompt.strokes, *strokes]), params)
    return mask


def _collapse_safe(image: np.ndarray, prompt: Prompt, params: GrabCutParams) -> Mask:
    height, width = image.shape[:2]
    window, result, box_share = _grabcut(image, prompt, params)
    if box_share < params.min_keep and prompt.box is not None:
        # the colour models collapsed (the object looks like its surroundings): assume, as a user
        # would, that the middle of a tight box is on the object and cut again from there
        x0, y0, x1, y1 = prompt.box
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        near = 0.1 * float(np.hypot(x1 - x0, y1 - y0))
        if not any(not p and np.hypot(x - cx, y - cy) <= near for x, y, p in prompt.points):
            window, result, _ = _grabcut(image, replace(prompt, points=[(cx, cy, True), *prompt.points]), params)
    return window.to_mask(result, height, width)


def to_unreached_sides(mask: Mask, prompt: Prompt, params: GrabCutParams) -> list[Stroke]:
    """Positive strokes from the cut's extreme point straight to each side of the box it does not reach.

    A box dragged around an object touches it on all four sides; GrabCut from the box alone often keeps only
    the object's most uniform part (a shirt without head and legs) because its colour model learns that part.
    A stroke to each unreached side makes the missed parts' colours foreground and the cut grows into them
    (coco_sample people from the box alone 0.49 -> 0.65, nuclei 0.77 -> 0.83; bench/bench_interactive.py).
    A side is left alone where a negative click lies near the stroke (the user said: not there)."""
    if prompt.box is None or mask.is_empty:
        return []
    x0, y0, x1, y1 = prompt.box
    ys, xs = np.nonzero(mask.region(x0, y0, x1, y1))
    if not len(ys):
        return []
    w, h = x1 - x0, y1 - y0
    tx, ty = max(2, int(params.tight * w)), max(2, int(params.tight * h))
    ends = []
    if ys.min() > ty:
        ends.append(((int(np.median(xs[ys == ys.min()])), int(ys.min())), "y", 0))
    if ys.max() < h - 1 - ty:
        ends.append(((int(np.median(xs[ys == ys.max()])), int(ys.max())), "y", h - 1))
    if xs.min() > tx:
        ends.append(((int(xs.min()), int(np.median(ys[xs == xs.min()]))), "x", 0))
    if xs.max() < w - 1 - tx:
        ends.append(((int(xs.max()), int(np.median(ys[xs == xs.max()]))), "x", w - 1))
    negatives = [(x - x0, y - y0) for x, y, positive in prompt.points if not positive]
    strokes = []
    for (sx, sy), axis, side in ends:
        ex, ey = (sx, side) if axis == "y" else (side, sy)
        if any(_near_segment(p, (sx, sy), (ex, ey), click_radius(prompt, params) * 3) for p in negatives):
            continue
        strokes.append(Stroke([(x0 + sx, y0 + sy), (x0 + ex, y0 + ey)], True, params.tight_radius))
    return strokes


def _near_segment(p, a, b, distance: float) -> bool:
    """Is point p within `distance` of the axis-aligned segment a-b?"""
    (px, py), (ax, ay), (bx, by) = p, a, b
    cx, cy = min(max(px, min(ax, bx)), max(ax, bx)), min(max(py, min(ay, by)), max(ay, by))
    return float(np.hypot(px - cx, py - cy)) <= distance


def _grabcut(image: np.ndarray, prompt: Prompt, params: GrabCutParams) -> tuple[win.Window, np.ndarray, float]:
    """(window, cut at working resolution, cut area / area allowed to be foreground)."""
    height, width = image.shape[:2]
    window = win.around(_extent(prompt), width, height, params.margin_frac, params.min_margin,
                        min_side=params.min_side, max_pixels=params.max_pixels, max_pixels_up=params.max_pixels_up)
    pos, neg = win.seed_masks(prompt, window, click_radius(prompt, params))
    crop = window.crop(image)
    if params.grow > 0 and prompt.points:
        pos, neg = win.grow_seeds(crop, prompt, window, pos, neg, params.grow, params.grow_tol, params.grow_decay)
    labels = initial_labels(prompt, window, pos, neg)
    fg_possible = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD))
    if not fg_possible.any() or fg_possible.all():
        return window, fg_possible, 1.0
    result = _cut(crop, labels, params.iterations)
    if result is None:  # too few pixels of one kind for the colour models (a box of a few pixels)
        return window, fg_possible & ~neg, 1.0
    result = win.keep_seeded(result, pos)
    return window, result, float(result.sum()) / float(fg_possible.sum())


def _cut(crop: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray | None:
    labels = labels.copy()
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's k-means start is random: same prompt, same mask
    try:
        cv2.grabCut(crop, labels, (0, 0, 0, 0), bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)  # rect: unused
    except cv2.error:
        return None
    return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
