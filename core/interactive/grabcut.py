"""Box to mask: OpenCV GrabCut initialised from the box, refined by clicks and strokes.

Outside the box is sure background, inside probable foreground; positive clicks/strokes are sure
foreground disks, negative ones sure background. It runs on a window around the box (the margin
gives the background colour model pixels to learn from), downscaled for big objects, and keeps only
the parts connected to a positive click (GrabCut likes to pick up same-coloured specks elsewhere in
the box). The defaults were tuned on the shared nuclei and coco_sample data (bench_interactive.py).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from core.errors import InputError
from core.interactive import window as win
from core.interactive.prompt import Prompt
from core.masks import Mask


@dataclass(frozen=True)
class GrabCutParams:
    margin_frac: float = 0.15   # background band around the box, relative to its longest side
    min_margin: int = 16        # ... and at least this many pixels (small nuclei need some background)
    max_side: int = 320         # longest working side: big objects are cut downscaled (speed)
    min_side: int | None = 200   # small objects are cut upscaled to this side (finer edges)
    iterations: int = 3
    click_radius: int = 5       # a click marks a disk of this radius (image pixels) ...
    click_frac: float | None = 0.04 # ... or this fraction of the box diagonal, if smaller (small objects)
    lab: bool = False           # GMMs on Lab instead of RGB
    keep_seeded: bool = True    # drop parts not connected to a positive click
    grow: float = 0.1           # a click also claims its similar-coloured surroundings up to this
                                # fraction of the box diagonal (0 = the disk only)
    grow_tol: float = 10.0      # ... "similar" = Lab distance below this
    grow_decay: float = 1.0     # the k-th click (from 0) reaches radius / (1 + decay * k): later clicks fix details
    min_keep: float = 0.2       # a box-only cut keeping less than this share of the box collapsed
    rim: float = 0.0            # the box's inner rim (this share of its width/height) starts as probable
                                # background: a tight box is half background, mostly along its edges


DEFAULT = GrabCutParams()


def _extent(prompt: Prompt) -> tuple[int, int, int, int]:
    if prompt.box is not None:
        return prompt.extent()  # type: ignore[return-value]
    if not prompt.has_positive:
        raise InputError("GrabCut needs a box around the object or a positive stroke inside it; drag a box "
                         "over the object first.")
    return prompt.extent()  # type: ignore[return-value]


def initial_labels(prompt: Prompt, window: win.Window, pos: np.ndarray, neg: np.ndarray,
                   rim: float = 0.0) -> np.ndarray:
    """GrabCut's label array at working resolution: box, strokes and clicks as sure/probable labels."""
    w, h = window.work_size
    if prompt.box is not None:
        labels = np.full((h, w), cv2.GC_BGD, np.uint8)
        x0, y0, x1, y1 = window.box_to_work(prompt.box)
        labels[y0:y1, x0:x1] = cv2.GC_PR_BGD if rim > 0 else cv2.GC_PR_FGD
        dx, dy = int(rim * (x1 - x0)), int(rim * (y1 - y0))
        labels[y0 + dy : y1 - dy, x0 + dx : x1 - dx] = cv2.GC_PR_FGD
    else:  # strokes only: the positive strokes' extent is probable foreground, the rest probable background
        labels = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
        ys, xs = np.nonzero(pos)
        pad = max(2, int(0.5 * max(xs.max() - xs.min(), ys.max() - ys.min())))
        labels[max(0, ys.min() - pad) : ys.max() + pad + 1, max(0, xs.min() - pad) : xs.max() + pad + 1] = cv2.GC_PR_FGD
    labels[neg] = cv2.GC_BGD
    labels[pos] = cv2.GC_FGD
    if not np.isin(labels, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():  # box covers the whole image
        ring = np.zeros_like(pos)
        ring[[0, -1], :], ring[:, [0, -1]] = True, True
        labels[ring & ~pos] = cv2.GC_PR_BGD
    return labels


def click_radius(prompt: Prompt, params: GrabCutParams) -> int:
    if params.click_frac is None:
        return params.click_radius
    x0, y0, x1, y1 = prompt.box or prompt.extent()
    return max(1, min(params.click_radius, int(round(params.click_frac * float(np.hypot(x1 - x0, y1 - y0))))))


def grow_clicks(crop: np.ndarray, prompt: Prompt, window: win.Window, pos: np.ndarray, neg: np.ndarray,
                params: GrabCutParams) -> tuple[np.ndarray, np.ndarray]:
    """Each click's seed widened to the connected pixels of its colour within a radius: one click
    then pins down a whole sleeve or face, not a 5-pixel disk. A later click's area overrides an
    earlier one's, and the clicked disks themselves always win (a negative click can undo a
    positive click's overreach)."""
    ext = prompt.box or prompt.extent()
    radius = params.grow * float(np.hypot(ext[2] - ext[0], ext[3] - ext[1])) * window.scale
    lab = cv2.cvtColor(cv2.GaussianBlur(crop, (0, 0), 1.0).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    grown_pos, grown_neg = np.zeros_like(pos), np.zeros_like(neg)
    for k, (x, y, positive) in enumerate(prompt.points):
        cx, cy = window.to_work(x, y)
        disk = np.zeros(pos.shape, np.uint8)
        cv2.circle(disk, (cx, cy), max(1, int(round(radius / (1.0 + params.grow_decay * k)))), 1, -1)
        similar = (np.sqrt(((lab - lab[cy, cx]) ** 2).sum(axis=2)) < params.grow_tol) & disk.astype(bool)
        _, labels = cv2.connectedComponents(similar.astype(np.uint8), connectivity=4)
        part = (labels == labels[cy, cx]) & similar
        grown_pos, grown_neg = (grown_pos | part, grown_neg & ~part) if positive else (grown_pos & ~part, grown_neg | part)
    return pos | (grown_pos & ~neg), neg | (grown_neg & ~pos)


def grabcut(image: np.ndarray, prompt: Prompt, params: GrabCutParams = DEFAULT) -> Mask:
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


def _grabcut(image: np.ndarray, prompt: Prompt, params: GrabCutParams) -> tuple[win.Window, np.ndarray, float]:
    """(window, cut at working resolution, cut area / area allowed to be foreground)."""
    height, width = image.shape[:2]
    window = win.around(_extent(prompt), width, height, params.margin_frac, params.min_margin, params.max_side,
                        params.min_side)
    pos, neg = win.seed_masks(prompt, window, click_radius(prompt, params))
    crop = window.crop(image)
    if params.grow > 0 and prompt.points:
        pos, neg = grow_clicks(crop, prompt, window, pos, neg, params)
    labels = initial_labels(prompt, window, pos, neg, params.rim)
    fg_possible = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD))
    if not fg_possible.any() or fg_possible.all():
        return window, fg_possible, 1.0
    if params.lab:
        crop = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB)
    result = _cut(crop, labels, params.iterations)
    if result is None:  # too few pixels of one kind for the colour models (a box of a few pixels)
        return window, fg_possible & ~neg, 1.0
    if params.keep_seeded:
        result = win.keep_seeded(result, pos)
    return window, result, float(result.sum()) / float(fg_possible.sum())


def _cut(crop: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray | None:
    labels = labels.copy()
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's k-means start is random: same prompt, same mask
    try:
        cv2.grabCut(crop, labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return None
    return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
