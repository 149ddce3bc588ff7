"""The window a tool works in: the prompt's extent plus a margin, clamped to the image, optionally
downscaled so that its longest side stays under a limit.

A prompt on a 48 MP image touches only this window, so a click costs the size of the object, not
the size of the image; the result comes back in full-image coordinates through Mask.from_crop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from maskwork.core.domain.masks import Mask
from maskwork.core.interactive.prompt import Prompt


@dataclass(frozen=True)
class Window:
    x0: int
    y0: int
    x1: int          # exclusive
    y1: int          # exclusive
    scale: float = 1.0  # working pixels per image pixel (< 1: big objects downscaled; > 1: small ones upscaled)

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def work_size(self) -> tuple[int, int]:
        """(width, height) of the working array."""
        return (max(1, round(self.width * self.scale)), max(1, round(self.height * self.scale)))

    def crop(self, image: np.ndarray) -> np.ndarray:
        """The window's pixels at working resolution (area averaging when downscaled)."""
        part = image[self.y0 : self.y1, self.x0 : self.x1]
        if self.scale == 1.0:
            return np.ascontiguousarray(part)
        return cv2.resize(part, self.work_size, interpolation=cv2.INTER_AREA if self.scale < 1 else cv2.INTER_CUBIC)

    def to_work(self, x: float, y: float) -> tuple[int, int]:
        """An image pixel -> the working pixel that covers it (clamped into the window)."""
        w, h = self.work_size
        wx = int(math.floor((x - self.x0 + 0.5) * self.scale))
        wy = int(math.floor((y - self.y0 + 0.5) * self.scale))
        return min(max(wx, 0), w - 1), min(max(wy, 0), h - 1)

    def box_to_work(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """An image box (x1/y1 exclusive) -> working box, clamped, rounded outwards."""
        w, h = self.work_size
        x0 = int(math.floor((box[0] - self.x0) * self.scale))
        y0 = int(math.floor((box[1] - self.y0) * self.scale))
        x1 = int(math.ceil((box[2] - self.x0) * self.scale))
        y1 = int(math.ceil((box[3] - self.y0) * self.scale))
        return max(0, x0), max(0, y0), min(w, x1), min(h, y1)

    def to_mask(self, work: np.ndarray, height: int, width: int) -> Mask:
        """A working-resolution bool array -> Mask of the full image (smooth upscaling of edges)."""
        if self.scale != 1.0:
            method = cv2.INTER_LINEAR if self.scale < 1 else cv2.INTER_AREA
            work = cv2.resize(work.astype(np.float32), (self.width, self.height), interpolation=method) > 0.5
        return Mask.from_crop(height, width, self.x0, self.y0, work)


def around(extent: tuple[int, int, int, int], width: int, height: int, margin_frac: float,
           min_margin: int, max_side: int | None = None, min_side: int | None = None,
           max_pixels: int | None = None, max_pixels_up: int | None = None) -> Window:
    """The extent grown by max(min_margin, margin_frac * its longest side), clamped to the image;
    worked on downscaled above max_side (or max_pixels), upscaled (at most 4x) below min_side."""
    x0, y0, x1, y1 = extent
    margin = max(int(min_margin), int(round(margin_frac * max(x1 - x0, y1 - y0))))
    wx0, wy0 = max(0, x0 - margin), max(0, y0 - margin)
    wx1, wy1 = min(width, x1 + margin), min(height, y1 + margin)
    if wx1 <= wx0 or wy1 <= wy0:  # the prompt lies off the image; Prompt.check normally refuses it
        wx0, wy0, wx1, wy1 = 0, 0, min(width, 1), min(height, 1)
    side = max(wx1 - wx0, wy1 - wy0)
    scale = 1.0
    if max_side is not None and side > max_side:
        scale = max_side / side
    if max_pixels is not None and (wx1 - wx0) * (wy1 - wy0) * scale * scale > max_pixels:
        scale = math.sqrt(max_pixels / ((wx1 - wx0) * (wy1 - wy0)))
    if scale == 1.0 and min_side is not None and side < min_side:
        scale = min(4.0, min_side / side)
        budget = max_pixels_up or max_pixels
        if budget is not None:  # a budget holds for upscaled windows too
            scale = max(1.0, min(scale, math.sqrt(budget / ((wx1 - wx0) * (wy1 - wy0)))))
    return Window(wx0, wy0, wx1, wy1, scale)


def seed_masks(prompt: Prompt, window: Window, click_radius: int) -> tuple[np.ndarray, np.ndarray]:
    """(positive, negative) bool arrays at working resolution: clicks as disks, strokes as thick lines.

    A pixel marked both ways counts as negative only where no positive mark covers it."""
    w, h = window.work_size
    pos, neg = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    r_click = max(1, int(round(click_radius * window.scale)))
    for x, y, positive in prompt.points:
        cv2.circle(pos if positive else neg, window.to_work(x, y), r_click, 1, -1)
    for s in prompt.strokes:
        if not s.points:
            continue
        r = max(1, int(round(max(0, s.radius) * window.scale)))
        pts = np.array([window.to_work(x, y) for x, y in s.points], np.int32)
        target = pos if s.positive else neg
        if len(pts) == 1:
            cv2.circle(target, tuple(int(v) for v in pts[0]), r, 1, -1)
        else:
            cv2.polylines(target, [pts.reshape(-1, 1, 2)], False, 1, thickness=2 * r + 1)
    pos_b = pos.astype(bool)
    return pos_b, neg.astype(bool) & ~pos_b


def keep_seeded(mask: np.ndarray, positive: np.ndarray, largest: bool = True) -> np.ndarray:
    """Only the connected parts of `mask` that touch a positive seed, plus (with `largest`) the
    biggest part: a click on a detached limb must not drop the body the box already found."""
    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if n <= 2:
        return mask
    hit = np.unique(labels[positive & mask])
    hit = hit[hit > 0]
    if largest or hit.size == 0:
        counts = np.bincount(labels.ravel(), minlength=n)
        counts[0] = 0
        hit = np.append(hit, int(np.argmax(counts)))
    return np.isin(labels, hit)


def watershed(image: np.ndarray, markers: np.ndarray) -> np.ndarray:
    """cv2.watershed on a copy padded by one pixel (it overwrites the outermost pixels with -1 ridges,
    which would lose seeds and regions on the window's edge); returns the labels at the input size."""
    padded = cv2.copyMakeBorder(np.ascontiguousarray(image), 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    labels = cv2.copyMakeBorder(markers.astype(np.int32), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    cv2.watershed(padded, labels)
    return labels[1:-1, 1:-1]


def grow_seeds(crop: np.ndarray, prompt: Prompt, window: Window, pos: np.ndarray, neg: np.ndarray,
               reach: float, tol: float, decay: float) -> tuple[np.ndarray, np.ndarray]:
    """Each click's seed widened to the connected pixels of its colour (Lab distance < tol) within
    `reach` x the prompt's diagonal: one click then pins down a whole sleeve or face, not a 5-pixel
    disk. The k-th click (from 0) reaches 1 / (1 + decay * k) as far: later clicks fix details. A
    later click's area overrides an earlier one's, and the clicked disks themselves always win (a
    negative click can undo a positive click's overreach)."""
    x0, y0, x1, y1 = prompt.box or prompt.required_extent()
    radius = reach * float(np.hypot(x1 - x0, y1 - y0)) * window.scale
    lab = cv2.cvtColor(cv2.GaussianBlur(crop, (0, 0), 1.0).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    grown_pos, grown_neg = np.zeros_like(pos), np.zeros_like(neg)
    for k, (x, y, positive) in enumerate(prompt.points):
        cx, cy = window.to_work(x, y)
        disk = np.zeros(pos.shape, np.uint8)
        cv2.circle(disk, (cx, cy), max(1, int(round(radius / (1.0 + decay * k)))), 1, -1)
        similar = (np.sqrt(((lab - lab[cy, cx]) ** 2).sum(axis=2)) < tol) & disk.astype(bool)
        _, labels = cv2.connectedComponents(similar.astype(np.uint8), connectivity=4)
        part = (labels == labels[cy, cx]) & similar
        if positive:
            grown_pos, grown_neg = grown_pos | part, grown_neg & ~part
        else:
            grown_pos, grown_neg = grown_pos & ~part, grown_neg | part
    return pos | (grown_pos & ~neg), neg | (grown_neg & ~pos)
