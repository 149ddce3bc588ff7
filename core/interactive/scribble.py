"""Scribbles: positive and negative strokes (or clicks) become a mask by a seeded watershed.

Seeds: positive strokes are the object; negative strokes, the window's border and everything
outside a box (when one is given) are background. A click also claims the similar-coloured pixels
around it (window.grow_seeds): a bare 1-pixel seed loses the flood to the background seeds in any
textured object. The flood is OpenCV's watershed on the unsmoothed RGB window. Tuned on the shared
nuclei and coco_sample data (bench/bench_interactive.py); a random walker (scipy, Grady 2006) was
measured too and was both less accurate with clicks and 20x slower.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.interactive import window as win
from maskwork.core.interactive.prompt import Prompt


@dataclass(frozen=True)
class ScribbleParams:
    margin_frac: float = 0.25   # window around the strokes, relative to their longest side (the object may reach out)
    box_margin_frac: float = 0.15  # ... around a box, which holds the object (0.12-0.18 measured best)
    min_margin: int = 12
    max_pixels: int = 40_000    # working pixels (bigger windows are downscaled)
    click_radius: int = 1       # a click is a small seed; its colour region does the rest
    smooth: float = 0.0         # Gaussian sigma before the flood (0 = none: smoothing blurred real edges)
    grow: float = 0.2           # a click claims similar colours up to this share of the prompt diagonal
    grow_tol: float = 15.0      # ... Lab distance counted as similar
    grow_decay: float = 1.0     # ... later clicks reach less far (they fix details)


DEFAULT = ScribbleParams()


def _seeds(crop: np.ndarray, prompt: Prompt, window: win.Window,
           params: ScribbleParams) -> tuple[np.ndarray, np.ndarray]:
    """(object seeds, background seeds) at working resolution."""
    pos, neg = win.seed_masks(prompt, window, params.click_radius)
    if params.grow > 0 and prompt.points:
        pos, neg = win.grow_seeds(crop, prompt, window, pos, neg, params.grow, params.grow_tol, params.grow_decay)
    bg = neg.copy()
    bg[[0, -1], :], bg[:, [0, -1]] = True, True
    if prompt.box is not None:
        x0, y0, x1, y1 = window.box_to_work(prompt.box)
        inside = np.zeros(pos.shape, bool)
        inside[y0:y1, x0:x1] = True
        bg |= ~inside
    return pos, bg & ~pos


def scribble(image: np.ndarray, prompt: Prompt, params: ScribbleParams = DEFAULT) -> Mask:
    height, width = image.shape[:2]
    if not prompt.has_positive:
        raise InputError("scribbles need at least one positive stroke (or click) on the object; draw one "
                         "inside it.")
    margin = params.margin_frac if prompt.box is None else params.box_margin_frac
    window = win.around(prompt.required_extent(), width, height, margin, params.min_margin,
                        max_pixels=params.max_pixels)
    crop = window.crop(image)
    pos, bg = _seeds(crop, prompt, window, params)
    if params.smooth > 0:
        crop = cv2.GaussianBlur(crop, (0, 0), params.smooth)
    markers = np.where(pos, 2, np.where(bg, 1, 0)).astype(np.int32)
    labels = win.watershed(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), markers)
    region = labels == 2
    # the one-pixel ridges between the two floods go to the object where they touch it
    ridge = cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & (labels == -1)
    region |= ridge & ~bg
    return window.to_mask(win.keep_seeded(region, pos), height, width)
