"""Pure drawing helpers for the canvas: colourise a window of a layer into premultiplied BGRA pixels.

The GUI keeps the overlay as tiles and asks for one window at a time (the dirty box of an edit), so
nothing here ever touches more than the window it is given. Output format is Qt's
ARGB32_Premultiplied memory layout on little-endian machines: bytes B, G, R, A, colour * alpha.
"""
from __future__ import annotations

import colorsys

import numpy as np

from maskwork.core.domain.annotation import UNLABELED, ClassList, Instance, Layer
from maskwork.core.editing.box_ops import box_only_at

FILL_ALPHA = 0.55      # semantic areas and instance interiors
OUTLINE_ALPHA = 1.0    # instance borders stay fully visible so touching nuclei stay apart


def bgra_lut(classes: ClassList, alpha: float = FILL_ALPHA, size: int = 256) -> np.ndarray:
    """(size, 4) uint8 premultiplied BGRA per class id; UNLABELED is transparent."""
    rgb = classes.palette(size).astype(np.float32)
    lut = np.zeros((size, 4), np.uint8)
    lut[:, 0] = np.round(rgb[:, 2] * alpha)
    lut[:, 1] = np.round(rgb[:, 1] * alpha)
    lut[:, 2] = np.round(rgb[:, 0] * alpha)
    lut[:, 3] = round(255 * alpha)
    lut[UNLABELED] = 0
    return lut


def instance_rgb(instance_id: int) -> tuple[int, int, int]:
    """A distinct, stable colour per instance id (golden-ratio hue walk)."""
    hue = (instance_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def _premul(rgb: tuple[int, int, int], alpha: float) -> np.ndarray:
    r, g, b = rgb
    return np.array([round(b * alpha), round(g * alpha), round(r * alpha), round(255 * alpha)], np.uint8)


def render_window(layer: Layer | None, window: tuple[int, int, int, int], lut: np.ndarray,
                  out: np.ndarray | None = None) -> np.ndarray:
    """Paint layer pixels inside window (x0, y0, x1, y1) into `out` ((h, w, 4) uint8, overwritten).

    The label map is drawn first, instances on top in list order (later ones cover earlier ones).
    """
    x0, y0, x1, y1 = window
    h, w = y1 - y0, x1 - x0
    if out is None:
        out = np.zeros((h, w, 4), np.uint8)
    if layer is None:
        out[:] = 0
        return out
    if layer.label_map is not None:
        ids = layer.label_map[y0:y1, x0:x1]
        # one uint32 per BGRA pixel: a flat take is ~1.5x faster than take(axis=0) on 4 bytes, and
        # mode="clip" maps ids past the table to its last entry without a clamped copy of the window
        lut32 = np.ascontiguousarray(lut).view(np.uint32).reshape(-1)
        np.take(lut32, ids, out=out.view(np.uint32)[..., 0], mode="clip")
    else:
        out[:] = 0
    for inst in layer.instances:
        _paint_instance(inst, window, out)
    return out


def _paint_instance(inst: Instance, window: tuple[int, int, int, int], out: np.ndarray) -> None:
    m = inst.mask
    x0, y0, x1, y1 = window
    ix0, iy0, ix1, iy1 = max(x0, m.x0), max(y0, m.y0), min(x1, m.x1), min(y1, m.y1)
    if m.is_empty or ix0 >= ix1 or iy0 >= iy1:
        return
    # one pixel of margin so the outline test sees the neighbours just outside the window
    px0, py0, px1, py1 = ix0 - 1, iy0 - 1, ix1 + 1, iy1 + 1
    padded = m.region(px0, py0, px1, py1)
    inside = padded[1:-1, 1:-1]
    interior = (inside & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    edge = inside & ~interior
    rgb = instance_rgb(inst.id)
    view = out[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0]
    view[interior] = _premul(rgb, FILL_ALPHA)
    view[edge] = _premul(rgb, OUTLINE_ALPHA)


def instance_at(layer: Layer | None, x: int, y: int) -> Instance | None:
    """The topmost instance covering pixel (x, y), else the smallest box-only object around it, or None
    (hit test for the select tool)."""
    if layer is None:
        return None
    for inst in reversed(layer.instances):
        m = inst.mask
        if not m.is_empty and m.x0 <= x < m.x1 and m.y0 <= y < m.y1 and m.crop[y - m.y0, x - m.x0]:
            return inst
    return box_only_at(layer, x, y)


def class_at(layer: Layer | None, x: int, y: int) -> int | None:
    """Class id under pixel (x, y): the topmost instance's class, else the label map value."""
    if layer is None:
        return None
    inst = instance_at(layer, x, y)
    if inst is not None:
        return inst.class_id
    if layer.label_map is not None and 0 <= y < layer.label_map.shape[0] and 0 <= x < layer.label_map.shape[1]:
        return int(layer.label_map[y, x])
    return None


def mask_bgra(crop: np.ndarray, rgb: tuple[int, int, int], alpha: float = FILL_ALPHA) -> np.ndarray:
    """A bool crop as premultiplied BGRA: `rgb` at `alpha` inside, an opaque white border so the
    preview stands out over a layer of the same colour (interactive tools' live preview)."""
    crop = np.asarray(crop, bool)
    out = np.zeros(crop.shape + (4,), np.uint8)
    padded = np.pad(crop, 1)
    interior = crop & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    out[interior] = _premul(rgb, alpha)
    out[crop & ~interior] = _premul((255, 255, 255), OUTLINE_ALPHA)
    return out
