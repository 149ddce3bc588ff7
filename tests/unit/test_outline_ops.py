"""core/editing/outline_ops.py on real masks: the traced outline fits the nucleus, reshaping changes
pixels only near the moved edges, holes stay holes, records undo exactly, and a big aerial region
keeps a bounded number of vertices."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from maskwork.core.domain.annotation import Instance, Layer
from maskwork.core.domain.masks import Mask
from maskwork.core.editing import outline_ops as oo

HOLED = 13947  # nuclei val annotation id: a nucleus with a 16-pixel hole


@pytest.fixture(scope="module")
def holed(nuclei_val) -> Mask:
    doc = json.loads(nuclei_val.read_text())
    return Mask.from_rle(next(a for a in doc["annotations"] if a["id"] == HOLED)["segmentation"])


@pytest.fixture(scope="module")
def aerial_truth(aerial_dir) -> np.ndarray:
    return np.array(Image.open(sorted((aerial_dir / "masks").glob("*.png"))[0]))


def _raster(points, shape):
    canvas = np.zeros(shape, np.uint8)
    cv2.fillPoly(canvas, [np.array(points, np.int32)], 1)
    return canvas.astype(bool)


def test_trace_fits_the_nucleus_and_finds_its_hole(holed):
    outline = oo.trace_mask(holed)
    assert 3 <= len(outline.points) <= oo.MAX_VERTICES
    assert outline.holes.area == 16 and outline.part.area == holed.area
    polygon = _raster(outline.points, holed.shape)
    full = holed.to_full() | outline.holes.to_full()
    assert (polygon & full).sum() / (polygon | full).sum() > 0.9  # the polygon is the nucleus' shape


def test_same_polygon_changes_nothing_and_a_drag_changes_only_near_it(holed):
    outline = oo.trace_mask(holed)
    assert oo.reshape(outline, outline.points) is None
    layer = Layer(None, [Instance(1, 1, holed)])
    pts = list(outline.points)
    x, y = pts[0]
    pts[0] = (x - 7, y - 5)
    edit, change = oo.apply_instance_outline(layer, 1, outline, pts)
    after = layer.instances[0].mask.to_full()
    before = holed.to_full()
    x0, y0, x1, y1 = edit.bbox
    outside = np.ones_like(before)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(after[outside], before[outside]) and not np.array_equal(after, before)
    assert after[y - 5, x - 7] and not (after & outline.holes.to_full()).any()
    assert edit.nbytes < before.nbytes // 20  # the record is the window, not the image
    edit.undo(layer)
    assert np.array_equal(layer.instances[0].mask.to_full(), before)
    moved = outline.moved(pts, change)
    assert moved.points[0] == (x - 7, y - 5) and moved.part.area == after.sum()


def test_big_region_keeps_few_vertices_and_protected_classes(aerial_truth):
    counts = np.bincount(aerial_truth.ravel())
    cid = int(np.argmax(counts[1:])) + 1
    layer = Layer(aerial_truth.copy())
    ys, xs = np.nonzero(aerial_truth == cid)
    traced = None
    for k in range(0, len(ys), max(1, len(ys) // 50)):  # a seed in the biggest region of that class
        t = oo.trace_region(layer, (int(xs[k]), int(ys[k])))
        if traced is None or t[1].part.area > traced[1].part.area:
            traced = t
    class_id, outline = traced
    assert class_id == cid and len(outline.points) <= oo.MAX_VERTICES
    pts = list(outline.points)
    centre = np.mean(pts, axis=0)
    h, w = aerial_truth.shape
    inner = [i for i, (x, y) in enumerate(pts) if 20 < x < w - 20 and 20 < y < h - 20]
    k = max(inner, key=lambda i: np.hypot(*np.subtract(pts[i], centre)))  # pulled out, off no border
    out = np.subtract(pts[k], centre)
    pts[k] = tuple(int(v) for v in np.round(np.add(pts[k], out / np.linalg.norm(out) * 15)))
    free = Layer(aerial_truth.copy())  # unprotected: the pulled vertex takes pixels of other classes
    assert oo.apply_region_outline(free, cid, outline, pts) is not None
    grown = (free.label_map != aerial_truth) & (free.label_map == cid)
    taken = [int(c) for c in np.unique(aerial_truth[grown]) if c != 0]
    assert taken, "the drag should reach pixels of another class"
    before = layer.label_map.copy()
    result = oo.apply_region_outline(layer, cid, outline, pts, protect=taken[:1])
    # the same change, except that the protected class keeps every one of its pixels
    assert np.array_equal(layer.label_map, np.where(before == taken[0], before, free.label_map))
    if result is not None:
        result[0].undo(layer)
    assert np.array_equal(layer.label_map, before)


def test_closest_edge_projects_onto_the_nearest_segment():
    square = [(0, 0), (10, 0), (10, 10), (0, 10)]
    k, q, d = oo.closest_edge(square, (4.0, -2.0))
    assert (k, q, d) == (0, (4.0, 0.0), 2.0)
    k, q, d = oo.closest_edge(square, (-3.0, 5.0))
    assert k == 3 and q == (0.0, 5.0) and d == 3.0


def test_bad_points_are_refused_with_a_clear_message(holed):
    from maskwork.core.domain.errors import InputError

    outline = oo.trace_mask(holed)
    with pytest.raises(InputError, match="at least 3 points"):
        oo.reshape(outline, [(0, 0), (1, 1)])
    with pytest.raises(InputError, match="finite"):
        oo.reshape(outline, [(0, 0), (1, float("nan")), (2, 2)])
