"""Outline editing: an object's outer contour as a polygon whose vertices the user drags.

`trace_instance` / `trace_region` turn a mask (one connected part of an instance, or the connected
region of one class in a label map) into an `Outline`: its outer contour (cv2.findContours),
simplified with cv2.approxPolyDP to at most MAX_VERTICES vertices, plus the pixels it stands for.

Reshaping to new vertices changes pixels only where the polygon changed: between the old and the
new polygon, and in a band of the simplification tolerance around the edges that moved. Everywhere
else the mask keeps its exact pixel boundary, and holes (pixels the part encloses but does not
cover) stay holes. `apply_instance_outline` / `apply_region_outline` return ONE undo record over
that window only (ADR 0002), so a vertex drag is one step however many mouse moves it took.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, NamedTuple, Sequence

import cv2
import numpy as np

from maskwork.core.domain.annotation import UNLABELED, Layer, Source
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.editing.accept_ops import predicted_region
from maskwork.core.editing.records import InstanceMaskEdit, LabelMapEdit, editable_label_map

Point = tuple[int, int]
MAX_VERTICES = 150        # more handles than this are too dense to grab; the tolerance grows instead
FIRST_TOLERANCE = 0.75    # px: a nucleus of 20 px keeps 10-20 vertices
TOLERANCE_STEP = 1.5


@dataclass(frozen=True, eq=False)
class Outline:
    """The polygon shown to the user and the pixels it stands for (one 8-connected part)."""

    points: tuple[Point, ...]  # vertices in image pixels (pixel centres), in contour order
    part: Mask                 # the connected part being edited
    holes: Mask                # pixels the part encloses without covering them (kept as they are)
    tolerance: float           # the true boundary lies within this many pixels of the polygon

    def moved(self, points: Sequence[Point], change: "Reshape") -> "Outline":
        """The outline after `change` (from reshape(self, points)) was applied: the new vertices,
        and the part's pixels with the changed window replaced."""
        part = self.part.with_region(change.x0, change.y0, change.after)
        return Outline(_as_points(points), part, _holes_of(part), self.tolerance)


class Reshape(NamedTuple):
    """The part's pixels in the window at (x0, y0) before and after a reshape."""

    x0: int
    y0: int
    before: np.ndarray
    after: np.ndarray


# ---- tracing ----------------------------------------------------------------------------------------
def trace_mask(mask: Mask, seed: Point | None = None) -> Outline | None:
    """The outline of the 8-connected part of `mask` holding `seed` (the largest part when the seed
    misses the mask). None for an empty mask or a part too small for a polygon (under 3 pixels)."""
    if mask.is_empty:
        return None
    count, labels = cv2.connectedComponents(mask.crop.astype(np.uint8), connectivity=8)
    if count < 2:
        return None
    k = 0
    if seed is not None:
        sx, sy = int(seed[0]) - mask.x0, int(seed[1]) - mask.y0
        if 0 <= sy < labels.shape[0] and 0 <= sx < labels.shape[1]:
            k = int(labels[sy, sx])
    if k == 0:
        k = int(np.argmax(np.bincount(labels.ravel())[1:])) + 1
    part = Mask.from_crop(mask.height, mask.width, mask.x0, mask.y0, labels == k)
    if part.area < 3:
        return None
    padded = np.pad(part.crop, 1).astype(np.uint8)
    contours, _ = cv2.findContours(padded, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=len)
    simplified, tolerance = _simplify(contour)
    if len(set(simplified)) < 3:
        return None
    dx, dy = part.x0 - 1, part.y0 - 1  # undo the padding, back to image pixels
    points: tuple[Point, ...] = tuple((x + dx, y + dy) for x, y in simplified)
    return Outline(points, part, _holes_of(part), tolerance)


def trace_instance(layer: Layer, instance_id: int, seed: Point | None = None) -> Outline | None:
    return trace_mask(layer.instance(instance_id).mask, seed)


def trace_region(layer: Layer, seed: Point) -> tuple[int, Outline] | None:
    """(class id, outline) of the 8-connected region of one class holding `seed` in the layer's label
    map; None off the image, on unlabeled pixels, or without a label map."""
    region = predicted_region(layer, seed)  # works on any layer's label map
    if region is None or layer.label_map is None:  # (a region is found in a label map only)
        return None
    h, w = layer.label_map.shape[:2]
    outline = trace_mask(Mask.from_crop(h, w, region.x0, region.y0, region.pixels), seed)
    return None if outline is None else (region.class_id, outline)


def _simplify(contour: np.ndarray) -> tuple[list[Point], float]:
    tolerance = FIRST_TOLERANCE
    while True:
        approx = cv2.approxPolyDP(contour, tolerance, True)
        if len(approx) <= MAX_VERTICES:
            break
        tolerance *= TOLERANCE_STEP
    if len(approx) < 3:  # a thin sliver: keep every contour pixel rather than a 2-point "polygon"
        approx, tolerance = contour, 0.0
    return [(int(x), int(y)) for x, y in approx[:, 0, :]], tolerance


def _holes_of(part: Mask) -> Mask:
    """Pixels inside the part's outer contour that the part does not cover (background that is not
    4-connected to the outside, which is 8-connected foreground's notion of a hole)."""
    if part.is_empty:
        return Mask.empty(part.height, part.width)
    crop = np.pad(part.crop, 1).astype(np.uint8)
    outside = np.zeros((crop.shape[0] + 2, crop.shape[1] + 2), np.uint8)
    cv2.floodFill(crop, outside, (0, 0), 1, 0, 0, 4 | (1 << 8) | cv2.FLOODFILL_MASK_ONLY)
    holes = ~outside[2:-2, 2:-2].view(bool) & ~part.crop
    return Mask.from_crop(part.height, part.width, part.x0, part.y0, holes)


# ---- reshaping ---------------------------------------------------------------------------------------
def _as_points(points: Iterable) -> tuple[Point, ...]:
    pts = np.asarray(list(points), dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise InputError(f"an outline needs at least 3 points (x, y); got {len(pts) if pts.ndim else 0}")
    if not np.isfinite(pts).all():
        raise InputError("outline points must be finite numbers")
    return tuple((int(round(x)), int(round(y))) for x, y in pts)


def _edges(points: Sequence[Point]) -> set[tuple[Point, Point]]:
    n = len(points)
    return {(min(a, b), max(a, b)) for a, b in ((points[i], points[(i + 1) % n]) for i in range(n))}


def reshape(outline: Outline, points: Sequence[Point]) -> Reshape | None:
    """The part's pixels after moving the polygon to `points`, in the window that changes; None when
    no pixel changes (same polygon, or a change that rasterises to the same pixels)."""
    old, new = outline.points, _as_points(points)
    changed = _edges(old) ^ _edges(new)
    if not changed:
        return None
    h, w = outline.part.height, outline.part.width
    band = int(math.ceil(outline.tolerance)) + 1  # covers the true boundary around a moved edge
    ends = np.array([p for edge in changed for p in edge], np.int64)
    x0, y0 = max(0, int(ends[:, 0].min()) - band - 1), max(0, int(ends[:, 1].min()) - band - 1)
    x1, y1 = min(w, int(ends[:, 0].max()) + band + 2), min(h, int(ends[:, 1].max()) + band + 2)
    if x0 >= x1 or y0 >= y1:
        return None
    shift = np.array([x0, y0], np.int64)
    before_poly = _fill(old, shift, (y1 - y0, x1 - x0))
    after_poly = _fill(new, shift, (y1 - y0, x1 - x0))
    zone = (before_poly ^ after_poly).astype(np.uint8)
    for a, b in changed:  # the band: inside it, the polygon is the boundary
        cv2.line(zone, tuple(int(v) for v in np.subtract(a, shift)), tuple(int(v) for v in np.subtract(b, shift)),
                 1, thickness=2 * band + 1)
    zone = zone.view(bool)
    before = outline.part.region(x0, y0, x1, y1)
    holes = outline.holes.region(x0, y0, x1, y1)
    after = np.where(zone, after_poly & ~holes, before)
    if np.array_equal(before, after):
        return None
    return Reshape(x0, y0, before, after)


def _fill(points: Sequence[Point], shift: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    # fillPoly clips to the canvas: a window of a big polygon fills exactly its inside part
    cv2.fillPoly(canvas, [(np.asarray(points, np.int64) - shift).astype(np.int32)], 1, lineType=cv2.LINE_8)
    return canvas.view(bool)


def apply_instance_outline(layer: Layer, instance_id: int, outline: Outline, points: Sequence[Point],
                           label: str = "Edit outline") -> tuple[InstanceMaskEdit, Reshape] | None:
    """Reshape one part of an instance to the polygon `points`; its other parts stay. Returns the
    applied undo record and the reshape (for Outline.moved), or None when no pixel changed."""
    inst = layer.instance(instance_id)
    change = reshape(outline, points)
    if change is None:
        return None
    h, w = change.before.shape
    before = inst.mask.region(change.x0, change.y0, change.x0 + w, change.y0 + h)
    after = (before & ~change.before) | change.after
    if np.array_equal(before, after):
        return None
    edit = InstanceMaskEdit(label, instance_id, change.x0, change.y0, before, after, old_box=inst.box, new_box=None,
                            old_source=inst.source, new_source=Source.PERSON)
    edit.redo(layer)  # a model's box no longer fits the reshaped mask: the box follows the mask
    return edit, change


def apply_region_outline(layer: Layer, class_id: int, outline: Outline, points: Sequence[Point],
                         protect: Iterable[int] = (), label: str = "Edit outline"
                         ) -> tuple[LabelMapEdit, Reshape] | None:
    """Reshape a connected region of `class_id` in the label map: pixels the new polygon leaves become
    unlabeled, pixels it takes get the class (except `protect` classes, and the region's holes)."""
    label_map = editable_label_map(layer)
    change = reshape(outline, points)
    if change is None:
        return None
    h, w = change.before.shape
    window = label_map[change.y0 : change.y0 + h, change.x0 : change.x0 + w]
    before = window.copy()
    after = before.copy()
    after[change.before & ~change.after & (before == class_id)] = UNLABELED
    taken = change.after & ~change.before
    protect = [int(c) for c in protect]
    if protect:
        taken &= ~np.isin(before, protect)
    after[taken] = class_id
    if np.array_equal(before, after):
        return None
    window[...] = after
    return LabelMapEdit(label, change.x0, change.y0, before, after), change


# ---- geometry for the vertex handles ---------------------------------------------------------------
def closest_edge(points: Sequence[Point], p: tuple[float, float]) -> tuple[int, tuple[float, float], float]:
    """(k, q, d): the edge points[k] -> points[k+1] (closing edge included) nearest to p, the nearest
    point q on it, and the distance; a new vertex at q goes in at index k + 1."""
    best: tuple[int, tuple[float, float], float] = (0, (float(points[0][0]), float(points[0][1])), math.inf)
    n = len(points)
    px, py = p
    for k in range(n):
        (ax, ay), (bx, by) = points[k], points[(k + 1) % n]
        vx, vy = bx - ax, by - ay
        length2 = vx * vx + vy * vy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * vx + (py - ay) * vy) / length2))
        qx, qy = ax + t * vx, ay + t * vy
        d = math.hypot(px - qx, py - qy)
        if d < best[2]:
            best = (k, (qx, qy), d)
    return best
