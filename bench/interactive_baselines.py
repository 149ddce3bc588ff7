"""The plain baselines each weight-free tool is measured against: OpenCV with its usual defaults on
the full image, fed the same prompt (box + simulated clicks) as the tool.

- GrabCut: cv2.grabCut on the whole image, rect from the box (outside = background, inside =
  probable foreground), clicks as sure fg/bg disks of radius 3 (OpenCV's grabcut sample brush),
  5 iterations (the OpenCV tutorial's count), RGB.
- Flood fill: cv2.floodFill from each positive click, 4-connected, +-32 per RGB channel from the
  clicked pixel (fixed range, Photoshop's default wand tolerance); negative clicks' fills removed.
- Watershed: cv2.watershed on the unsmoothed whole image; clicks as disks of radius 3; outside the
  box (when given) is background.
"""
from __future__ import annotations

import cv2
import numpy as np

from maskwork.core.domain.masks import Mask
from maskwork.core.interactive.prompt import Prompt

RADIUS = 3


def _disks(shape: tuple[int, int], prompt: Prompt, positive: bool) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    for x, y, pos in prompt.points:
        if pos == positive:
            cv2.circle(out, (int(x), int(y)), RADIUS, 1, -1)
    return out.astype(bool)


def plain_grabcut(image: np.ndarray, prompt: Prompt) -> Mask:
    h, w = image.shape[:2]
    labels = np.full((h, w), cv2.GC_BGD, np.uint8)
    if prompt.box is not None:
        x0, y0, x1, y1 = prompt.box
        labels[y0:y1, x0:x1] = cv2.GC_PR_FGD
    else:
        labels[:] = cv2.GC_PR_BGD
    labels[_disks((h, w), prompt, False)] = cv2.GC_BGD
    labels[_disks((h, w), prompt, True)] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(image, labels, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return Mask.empty(h, w)
    return Mask.from_full((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD))


def _fill(image: np.ndarray, x: int, y: int) -> np.ndarray:
    h, w = image.shape[:2]
    mask = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    # MASK_ONLY leaves the image alone, but OpenCV still wants it writable
    cv2.floodFill(image.copy(), mask, (int(x), int(y)), 0, (32, 32, 32), (32, 32, 32), flags)
    return mask[1:-1, 1:-1].astype(bool)


def plain_floodfill(image: np.ndarray, prompt: Prompt) -> Mask:
    h, w = image.shape[:2]
    region = np.zeros((h, w), bool)
    for x, y, pos in prompt.points:
        if pos:
            region |= _fill(image, x, y)
    for x, y, pos in prompt.points:
        if not pos:
            region &= ~_fill(image, x, y)
    return Mask.from_full(region)


def plain_watershed(image: np.ndarray, prompt: Prompt) -> Mask:
    h, w = image.shape[:2]
    markers = np.zeros((h, w), np.int32)
    if prompt.box is not None:
        x0, y0, x1, y1 = prompt.box
        markers[:] = 1
        markers[y0:y1, x0:x1] = 0
    markers[_disks((h, w), prompt, False)] = 1
    markers[_disks((h, w), prompt, True)] = 2
    if not (markers == 1).any():  # no background seed at all: the whole image floods from the clicks
        return Mask.from_full(np.ones((h, w), bool))
    cv2.watershed(np.ascontiguousarray(image[:, :, ::-1]), markers)
    return Mask.from_full(markers == 2)


# tool name -> (baseline name, function)
BASELINES = {
    "grabcut": ("plain cv2.grabCut", plain_grabcut),
    "wand": ("plain cv2.floodFill", plain_floodfill),
    "scribble": ("plain cv2.watershed", plain_watershed),
}
