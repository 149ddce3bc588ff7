"""Brightness, contrast and gamma for looking at dark images (microscopy): a 256-entry lookup table
applied to a display copy. The image data, the models' input and the masks never see it.

Order: gamma on [0, 1], then brightness shifts the levels, then contrast spreads them around mid-grey:
    out = clip(((in / 255) ** (1 / gamma) + brightness - 0.5) * contrast + 0.5) * 255
so gamma > 1 lifts the shadows (where dark nuclei live) without clipping the highlights, and any
stretch of a range [lo, hi] to black..white is brightness 0.5 - (lo + hi) / 2, contrast 1 / (hi - lo).
"""
from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

MAX_CONTRAST = 4.0


class Tone(NamedTuple):
    brightness: float = 0.0   # -0.5 .. 0.5, added before contrast
    contrast: float = 1.0     # 0.1 .. 4, slope around mid-grey
    gamma: float = 1.0        # 0.1 .. 5, > 1 brightens the shadows

    @property
    def is_identity(self) -> bool:
        return self == Tone()


def tone_lut(tone: Tone) -> np.ndarray:
    """(256,) uint8 lookup table for `tone`."""
    x = np.arange(256, dtype=np.float64) / 255.0
    y = np.power(x, 1.0 / max(tone.gamma, 1e-3))
    y = (y + tone.brightness - 0.5) * tone.contrast + 0.5
    return np.clip(np.rint(y * 255.0), 0, 255).astype(np.uint8)


def apply_tone(rgb: np.ndarray, tone: Tone) -> np.ndarray:
    """A display copy of an (H, W, 3) uint8 image with `tone` applied; the input itself when the tone
    changes nothing (no copy of a 48 MP image for nothing). The input is never modified."""
    if tone.is_identity:
        return rgb
    return cv2.LUT(rgb, tone_lut(tone))


def auto_tone(rgb: np.ndarray, low: float = 0.5, high: float = 99.5) -> Tone:
    """Stretch the image's own range: the `low` percentile of its brightness to black, `high` to white
    (gamma 1). Percentiles come from a subsample, so a 48 MP image costs a few milliseconds."""
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 250_000)))
    sample = rgb[::step, ::step].max(axis=2) if rgb.ndim == 3 else rgb[::step, ::step]
    lo, hi = (float(v) / 255.0 for v in np.percentile(sample, (low, high)))
    if hi - lo < 1e-3:
        return Tone()
    return Tone(brightness=0.5 - (lo + hi) / 2, contrast=min(1.0 / (hi - lo), MAX_CONTRAST), gamma=1.0)
