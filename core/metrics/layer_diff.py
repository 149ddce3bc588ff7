"""Where two layers disagree, and how to colour them: pure numpy helpers for the compare window.

A layer (semantic label map and/or instances) is flattened to a per-pixel class map; two maps
disagree at a pixel when their classes differ (an object in one and background in the other counts).
"""
from __future__ import annotations

import numpy as np

from maskwork.core.domain.annotation import UNLABELED, Layer


def class_map(layer: Layer | None, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) class ids of a layer: its label map, or its instances painted in order (later on top)."""
    h, w = shape
    if layer is None:
        return np.zeros((h, w), np.uint16)
    if layer.label_map is not None:
        return layer.label_map
    out = np.full((h, w), UNLABELED, np.uint16)
    for inst in layer.instances:
        m = inst.mask
        if m.is_empty:
            continue
        window = out[m.y0 : m.y1, m.x0 : m.x1]
        window[m.crop] = inst.class_id
    return out


def disagreement(a: Layer | None, b: Layer | None, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: pixels whose class differs between the two layers."""
    return class_map(a, shape).astype(np.int32) != class_map(b, shape).astype(np.int32)


def disagreement_fraction(a: Layer | None, b: Layer | None, shape: tuple[int, int]) -> float:
    d = disagreement(a, b, shape)
    return float(d.mean()) if d.size else 0.0


def highlight(mask: np.ndarray, rgb: tuple[int, int, int] = (0, 255, 0), alpha: int = 230) -> np.ndarray:
    """(H, W, 4) uint8 RGBA painting `mask` pixels in one colour, the rest transparent."""
    rgba = np.zeros(mask.shape + (4,), np.uint8)
    rgba[mask] = (*rgb, alpha)
    return rgba
