"""Scribbles: positive and negative strokes (or clicks) become a mask by a seeded watershed.

Seeds: positive strokes are the object; negative strokes, the window's border and everything
outside a box (when one is given) are background. The flood runs on a smoothed copy of the window
so that texture and noise do not stop it before the real edge.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import InputError
from core.interactive import window as win
from core.interactive.prompt import Prompt
from core.masks import Mask


@dataclass(frozen=True)
class ScribbleParams:
    margin_frac: float = 0.25   # window around the strokes/box, relative to its longest side
    min_margin: int = 12
    max_side: int = 512
    click_radius: int = 3
    smooth: float = 1.5         # Gaussian sigma (0 = none)
    lab: bool = True            # flood on Lab differences (perceptual) instead of RGB


DEFAULT = ScribbleParams()


def scribble(image: np.ndarray, prompt: Prompt, params: ScribbleParams = DEFAULT) -> Mask:
    height, width = image.shape[:2]
    if not prompt.has_positive:
        raise InputError("scribbles need at least one positive stroke (or click) on the object; draw one "
                         "inside it.")
    window = win.around(prompt.extent(), width, height, params.margin_frac, params.min_margin, params.max_side)
    pos, neg = win.seed_masks(prompt, window, params.click_radius)
    markers = np.zeros(pos.shape, np.int32)
    markers[[0, -1], :], markers[:, [0, -1]] = 1, 1
    if prompt.box is not None:
        x0, y0, x1, y1 = window.box_to_work(prompt.box)
        inside = np.zeros(pos.shape, bool)
        inside[y0:y1, x0:x1] = True
        markers[~inside] = 1
    markers[neg] = 1
    markers[pos] = 2
    crop = window.crop(image)
    if params.smooth > 0:
        crop = cv2.GaussianBlur(crop, (0, 0), params.smooth)
    crop = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB if params.lab else cv2.COLOR_RGB2BGR)
    labels = win.watershed(crop, markers)
    region = labels == 2
    ridge = cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & (labels == -1)
    region |= ridge & ~neg
    return window.to_mask(win.keep_seeded(region, pos), height, width)
