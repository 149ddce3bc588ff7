"""Editing operations on real label maps (aerial) and real instance masks (nuclei).

Every operation is checked against an independent full-image computation, and every undo record
must restore the layer bit for bit."""
from __future__ import annotations

import copy
import json
import tracemalloc

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy import ndimage

from maskwork.core import editing as E
from maskwork.core.domain.annotation import Instance, Layer
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask


# ---- real data --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def aerial_map(aerial_dir) -> np.ndarray:
    """A real aerial label map (class ids 0..5), cropped to keep the tests quick."""
    full = np.array(Image.open(aerial_dir / "masks" / "tile1_001.png"))
    assert full.dtype == np.uint8 and full.ndim == 2
    return np.ascontiguousarray(full[100:340, 150:470])


@pytest.fixture(scope="module")
def nuclei_masks(nuclei_val) -> list[Mask]:
    """Nuclei of one real validation image, decoded from their COCO RLEs."""
    data = json.loads(nuclei_val.read_text())
    image = data["images"][0]
    anns = [a for a in data["annotations"] if a["image_id"] == image["id"]]
    assert len(anns) > 5
    return [Mask.from_rle(a["segmentation"]) for a in anns]


def nuclei_layer(masks: list[Mask]) -> Layer:
    return Layer(instances=[Instance(n + 1, 1, m, box=tuple(map(float, m.bbox))) for n, m in enumerate(masks)])


def capsule_reference(shape, p0, p1, r) -> np.ndarray:
    """Independent full-image float geometry: pixel centre within r + 0.5 of the segment."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    (ax, ay), (bx, by) = p0, p1
    vx, vy = bx - ax, by - ay
    length2 = vx * vx + vy * vy
    t = np.clip(((xs - ax) * vx + (ys - ay) * vy) / length2, 0, 1) if length2 else np.zeros_like(xs)
    d2 = (xs - ax - t * vx) ** 2 + (ys - ay - t * vy) ** 2
    return d2 <= (r + 0.5) ** 2


def changed_bbox(a: np.ndarray, b: np.ndarray):
    ys, xs = np.nonzero(a != b)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def inside(inner, outer) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


# ---- label map operations --------------------------------------------------------------------
@pytest.mark.parametrize("p0,p1,r", [((20, 30), (180, 95), 7), ((300, 10), (300, 10), 12), ((-15, 200), (60, 250), 4)])
def test_brush_paints_exactly_the_capsule(aerial_map, p0, p1, r):
    layer = Layer(aerial_map.copy())
    edit = E.brush_segment(layer, p0, p1, r, 5)
    expected = aerial_map.copy()
    expected[capsule_reference(aerial_map.shape, p0, p1, r)] = 5
    assert np.array_equal(layer.label_map, expected)
    assert edit.label == "Brush" and inside(changed_bbox(aerial_map, expected), edit.bbox)
    # close to OpenCV's thick round-capped line, which rounds its rim outwards by up to a pixel
    cv_line = np.zeros_like(aerial_map)
    cv2.line(cv_line, p0, p1, 1, thickness=2 * r + 1)
    ours, theirs = capsule_reference(aerial_map.shape, p0, p1, r), cv_line.astype(bool)
    assert not (ours & ~theirs).any() and np.count_nonzero(ours) > 0.8 * np.count_nonzero(theirs)
    edit.undo(layer)
    assert np.array_equal(layer.label_map, aerial_map)


def test_eraser_writes_unlabeled_and_protect_keeps_classes(aerial_map):
    layer = Layer(aerial_map.copy())
    cap = capsule_reference(aerial_map.shape, (10, 10), (300, 220), 9)
    edit = E.erase_segment(layer, (10, 10), (300, 220), 9, protect=[3])
    expected = aerial_map.copy()
    expected[cap & (aerial_map != 3)] = 0
    assert np.array_equal(layer.label_map, expected) and edit.label == "Eraser"
    assert (layer.label_map[cap & (aerial_map == 3)] == 3).all()
    assert E.erase_segment(layer, (10, 10), (300, 220), 9, protect=[3]) is None  # nothing left to change


def test_brush_only_on_unlabeled(aerial_map):
    layer = Layer(aerial_map.copy())
    cap = capsule_reference(aerial_map.shape, (0, 0), (319, 239), 30)
    E.brush_segment(layer, (0, 0), (319, 239), 30, 1, only_on=[0, 2])
    expected = aerial_map.copy()
    expected[cap & np.isin(aerial_map, [0, 2])] = 1
    assert np.array_equal(layer.label_map, expected)


def test_huge_brush_is_rasterised_in_blocks(aerial_map, monkeypatch):
    monkeypatch.setattr(E.shapes, "_BLOCK", 997)  # force many row blocks on this small map
    layer = Layer(aerial_map.copy())
    E.brush_segment(layer, (40, 60), (250, 170), 90, 4)
    expected = aerial_map.copy()
    expected[capsule_reference(aerial_map.shape, (40, 60), (250, 170), 90)] = 4
    assert np.array_equal(layer.label_map, expected)


def test_flood_fill_matches_connected_component(aerial_map):
    layer = Layer(aerial_map.copy())
    comps, _ = ndimage.label(aerial_map == 3)  # 4-connectivity is ndimage's default structure
    sizes = np.bincount(comps.ravel())
    sizes[0] = 0
    target = int(np.argmax(sizes))
    ys, xs = np.nonzero(comps == target)
    edit = E.flood_fill(layer, (xs[0], ys[0]), 1)
    expected = aerial_map.copy()
    expected[comps == target] = 1
    assert np.array_equal(layer.label_map, expected)
    assert edit.bbox == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert E.flood_fill(layer, (xs[0], ys[0]), 1) is None  # already that class
    assert E.flood_fill(layer, (-5, 3), 2) is None  # outside the image
    edit.undo(layer)
    assert np.array_equal(layer.label_map, aerial_map)


def test_flood_fill_on_uint16_map(aerial_map):
    label_map = aerial_map.astype(np.uint16) * 100  # a map of a project with > 255 classes
    layer = Layer(label_map.copy())
    comps, _ = ndimage.label(label_map == 200)
    ys, xs = np.nonzero(comps == comps.max())
    E.flood_fill(layer, (xs[0], ys[0]), 1000)
    expected = label_map.copy()
    expected[comps == comps.max()] = 1000
    assert np.array_equal(layer.label_map, expected)


def test_polygon_fill_matches_full_image_fillpoly(aerial_map):
    pts = [(-30, 40), (150, -20), (260, 120), (120, 300), (60, 150)]  # partly outside the image
    layer = Layer(aerial_map.copy())
    edit = E.fill_polygon(layer, pts, 4)
    full = np.zeros_like(aerial_map)
    cv2.fillPoly(full, [np.array(pts, np.int32)], 1)
    expected = aerial_map.copy()
    expected[full.astype(bool)] = 4
    assert np.array_equal(layer.label_map, expected) and inside(changed_bbox(aerial_map, expected), edit.bbox)
    with pytest.raises(InputError, match="at least 3 points"):
        E.fill_polygon(layer, [(0, 0), (5, 5)], 4)


def test_bad_input_is_a_clear_error(aerial_map):
    with pytest.raises(InputError, match="no label map"):
        E.brush_segment(Layer(), (0, 0), (5, 5), 3, 1)
    with pytest.raises(InputError, match="does not fit"):
        E.brush_segment(Layer(aerial_map.copy()), (0, 0), (5, 5), 3, 300)
    with pytest.raises(InputError, match="radius"):
        E.brush_segment(Layer(aerial_map.copy()), (0, 0), (5, 5), -2, 1)


# ---- undo / redo property test -------------------------------------------------------------------
point = st.tuples(st.integers(-20, 340), st.integers(-20, 260))
operation = st.one_of(
    st.tuples(st.just("brush"), point, point, st.integers(0, 15), st.integers(0, 5)),
    st.tuples(st.just("erase"), point, point, st.integers(0, 15), st.just(0)),
    st.tuples(st.just("fill"), point, point, st.just(0), st.integers(0, 5)),
    st.tuples(st.just("poly"), point, point, st.integers(5, 60), st.integers(0, 5)),
)


def apply_op(layer: Layer, op) -> E.Edit | None:
    kind, a, b, r, c = op
    if kind == "brush":
        return E.brush_segment(layer, a, b, r, c)
    if kind == "erase":
        return E.erase_segment(layer, a, b, r)
    if kind == "fill":
        return E.flood_fill(layer, a, c)
    return E.fill_polygon(layer, [a, b, (a[0] + r, b[1] - r)], c)


stroke = st.tuples(point, st.lists(st.tuples(st.integers(-8, 8), st.integers(-8, 8)), max_size=30),
                   st.integers(0, 12), st.integers(0, 5))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, max_size=10), stroke=stroke)
def test_undo_redo_restore_bit_for_bit(aerial_map, ops, stroke):
    layer = Layer(aerial_map.copy())
    states, edits = [aerial_map.copy()], []
    for op in ops:
        edit = apply_op(layer, op)
        if edit is not None:
            edits.append(edit)
            states.append(layer.label_map.copy())
    start, steps, radius, class_id = stroke  # a mouse stroke: many short segments, one undo step
    group, p = E.EditGroup("Stroke"), start
    for dx, dy in steps:
        q = (p[0] + dx, p[1] + dy)
        group.add(E.brush_segment(layer, p, q, radius, class_id) if class_id else E.erase_segment(layer, p, q, radius))
        p = q
    step = group.finish(layer)
    if step is not None:
        edits.append(step)
        states.append(layer.label_map.copy())
    else:
        assert np.array_equal(layer.label_map, states[-1])
    for k in range(len(edits) - 1, -1, -1):
        edits[k].undo(layer)
        assert np.array_equal(layer.label_map, states[k])
    for k, edit in enumerate(edits):
        edit.redo(layer)
        assert np.array_equal(layer.label_map, states[k + 1])
        assert layer.label_map.dtype == np.uint8


# ---- memory: records cost the edit, not the image ------------------------------------------------
@pytest.fixture(scope="module")
def big_map(aerial_map) -> np.ndarray:
    """A 6000 x 8000 label map made of real aerial labels (nearest-neighbour upscaled)."""
    return cv2.resize(aerial_map, (8000, 6000), interpolation=cv2.INTER_NEAREST)


def test_nbytes_is_bounded_by_the_bbox_on_a_big_map(big_map):
    layer = Layer(big_map)  # edited in place; undone at the end
    image_bytes = big_map.nbytes
    tracemalloc.start()
    edit = E.brush_segment(layer, (4000, 3000), (4060, 3040), 25, 5)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    x0, y0, x1, y1 = edit.bbox
    area = (x1 - x0) * (y1 - y0)
    assert edit.nbytes <= 2 * area * big_map.itemsize + 1024
    assert edit.nbytes < image_bytes / 1000
    assert peak < 50 * area  # working memory of the window, never a full-image array (48 MB)
    poly = E.fill_polygon(layer, [(7000, 100), (7100, 150), (7050, 260)], (int(big_map[150, 7050]) + 1) % 6)
    px0, py0, px1, py1 = poly.bbox
    assert poly.nbytes <= 2 * (px1 - px0) * (py1 - py0) + 1024
    poly.undo(layer)
    edit.undo(layer)


def test_stroke_group_is_one_compact_undo_step(big_map):
    layer = Layer(big_map)
    before = big_map[2000:2600, 1000:2200].copy()
    group = E.EditGroup("Brush")
    path = [(1100 + 10 * k, 2100 + int(40 * np.sin(k / 8))) for k in range(100)]
    for a, b in zip(path, path[1:]):
        group.add(E.brush_segment(layer, a, b, 30, 4))
    step = group.finish(layer)
    parts = sum(e.nbytes for e in group.edits)
    assert step.nbytes <= parts + 1024 and step.nbytes < big_map.nbytes / 100
    assert step.label == "Brush" and inside(step.bbox, (1000, 2000, 2200, 2600))
    step.undo(layer)
    assert np.array_equal(big_map[2000:2600, 1000:2200], before)
    step.redo(layer)
    assert all(big_map[y, x] == 4 for x, y in path)
    step.undo(layer)


# ---- instance operations ----------------------------------------------------------------------------
def test_instance_brush_grows_past_its_box_and_undoes_exactly(nuclei_masks, monkeypatch):
    layer = nuclei_layer(nuclei_masks)
    height, width = nuclei_masks[0].shape
    k = next(k for k, m in enumerate(nuclei_masks) if m.x1 + 40 < width and m.y1 + 20 < height)
    inst = layer.instances[k]
    old = inst.mask
    x, y, w, h = old.bbox
    p0, p1 = (x + w // 2, y + h // 2), (x + w + 25, y + h + 10)  # from inside to well outside its box
    monkeypatch.setattr(Mask, "to_full", lambda self: pytest.fail("full-image decode of a mask"))
    edit = E.instance_segment(layer, inst.id, p0, p1, 4)
    monkeypatch.undo()
    expected = old.to_full() | capsule_reference(old.shape, p0, p1, 4)
    assert np.array_equal(layer.instance(inst.id).mask.to_full(), expected)
    assert layer.instance(inst.id).mask.x1 > old.x1 and layer.instance(inst.id).box is None
    others = [i.mask for i in layer.instances if i.id != inst.id]
    assert all(a == b for a, b in zip(others, [m for n, m in enumerate(nuclei_masks) if n != k]))
    edit.undo(layer)
    assert layer.instance(inst.id).mask == old and layer.instance(inst.id).box == tuple(map(float, old.bbox))
    edit.redo(layer)
    assert np.array_equal(layer.instance(inst.id).mask.to_full(), expected)


def test_instance_brush_can_keep_other_instances_intact(nuclei_masks):
    layer = nuclei_layer(nuclei_masks)
    a, b = nuclei_masks[0], nuclei_masks[1]
    p0 = (a.x0 + a.crop.shape[1] // 2, a.y0 + a.crop.shape[0] // 2)
    p1 = (b.x0 + b.crop.shape[1] // 2, b.y0 + b.crop.shape[0] // 2)  # a stroke from nucleus 1 into 2
    E.instance_segment(layer, 1, p0, p1, 3, keep_others=True)
    others = np.zeros(a.shape, bool)
    for m in nuclei_masks[1:]:
        others |= m.to_full()
    expected = a.to_full() | (capsule_reference(a.shape, p0, p1, 3) & ~others)
    assert np.array_equal(layer.instance(1).mask.to_full(), expected)
    grown = layer.instance(1).mask.to_full() & ~a.to_full()
    assert grown.any() and not (grown & b.to_full()).any()  # it grew, but not into its neighbour


def test_erasing_an_instance_keeps_it_empty_until_removed(nuclei_masks):
    layer = nuclei_layer(nuclei_masks)
    inst = layer.instances[0]
    x, y, w, h = inst.mask.bbox
    group = E.EditGroup("Eraser")
    for k in range(h + 1):
        group.add(E.instance_segment(layer, inst.id, (x, y + k), (x + w, y + k), 2, erase=True))
    assert layer.instance(inst.id).mask.is_empty and len(layer.instances) == len(nuclei_masks)
    group.add(E.remove_empty_instances(layer))
    step = group.finish(layer)
    assert [i.id for i in layer.instances] == list(range(2, len(nuclei_masks) + 1))
    step.undo(layer)
    assert layer.instances == nuclei_layer(nuclei_masks).instances


def test_object_edits_and_their_undo(nuclei_masks):
    original = nuclei_layer(nuclei_masks)
    layer = nuclei_layer(nuclei_masks)
    edits = []
    merge = E.merge_instances(layer, [4, 2, 6])
    edits.append(merge)
    merged = layer.instance(4)
    union = nuclei_masks[3].to_full() | nuclei_masks[1].to_full() | nuclei_masks[5].to_full()
    assert np.array_equal(merged.mask.to_full(), union) and merged.class_id == 1
    assert [i.id for i in layer.instances][:4] == [1, 3, 4, 5]  # the merged object takes id 4's place
    edits.append(E.set_instance_class(layer, [1, 3], 7))
    assert [layer.instance(i).class_id for i in (1, 3)] == [7, 7]
    assert E.set_instance_class(layer, [1], 7) is None
    edits.append(E.delete_instances(layer, [5, 1]))
    assert 1 not in [i.id for i in layer.instances] and 5 not in [i.id for i in layer.instances]
    h, w = nuclei_masks[0].shape
    new = E.polygon_instance(layer, [(5, 5), (40, 8), (20, 30)], 1, h, w)
    edits.append(new)
    (new_id,) = new.added_ids
    full = np.zeros((h, w), np.uint8)
    cv2.fillPoly(full, [np.array([(5, 5), (40, 8), (20, 30)], np.int32)], 1)
    assert np.array_equal(layer.instance(new_id).mask.to_full(), full.astype(bool))
    assert new_id == len(nuclei_masks) + 1
    states = [i for i in layer.instances]
    for e in reversed(edits):
        e.undo(layer)
    assert layer.instances == original.instances
    for e in edits:
        e.redo(layer)
    assert layer.instances == states
    with pytest.raises(InputError, match="no instance with id 999"):
        E.delete_instances(layer, [999])


instance_op = st.tuples(st.sampled_from(["brush", "erase", "merge", "delete", "class", "poly", "holes", "empty"]),
                        st.lists(st.integers(0, 40), min_size=3, max_size=3), point, point, st.integers(0, 6))


def apply_instance_op(layer: Layer, op, shape) -> E.Edit | None:
    kind, picks, a, b, r = op
    ids = [i.id for i in layer.instances]
    chosen = [ids[k % len(ids)] for k in picks] if ids else []
    if kind in ("brush", "erase") and chosen:
        return E.instance_segment(layer, chosen[0], a, b, r, erase=kind == "erase")
    if kind == "merge" and chosen:
        return E.merge_instances(layer, chosen)
    if kind == "delete" and chosen:
        return E.delete_instances(layer, chosen[:2])
    if kind == "class" and chosen:
        return E.set_instance_class(layer, chosen[1:], r)
    if kind == "holes" and chosen:
        return E.fill_instance_holes(layer, chosen[0])
    if kind == "empty":
        return E.remove_empty_instances(layer)
    return E.polygon_instance(layer, [a, b, (a[0] + 9, b[1])], 2, *shape)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(instance_op, min_size=1, max_size=10))
def test_instance_undo_redo_restore_exactly(nuclei_masks, ops):
    layer = nuclei_layer(nuclei_masks[:12])
    snapshot = lambda: [copy.copy(i) for i in layer.instances]  # noqa: E731 (masks are immutable)
    states, edits = [snapshot()], []
    for op in ops:
        edit = apply_instance_op(layer, op, nuclei_masks[0].shape)
        if edit is not None:
            edits.append(edit)
            states.append(snapshot())
        else:
            assert layer.instances == states[-1]
    for k in range(len(edits) - 1, -1, -1):
        edits[k].undo(layer)
        assert layer.instances == states[k]
    for k, edit in enumerate(edits):
        edit.redo(layer)
        assert layer.instances == states[k + 1]


def test_fill_instance_holes(nuclei_masks):
    layer = nuclei_layer(nuclei_masks)
    inst = max(layer.instances, key=lambda i: i.mask.area)
    x, y, w, h = inst.mask.bbox
    cx, cy = x + w // 2, y + h // 2
    E.instance_segment(layer, inst.id, (cx, cy), (cx, cy), 1, erase=True)  # punch a 3x3 hole
    holed = layer.instance(inst.id).mask
    edit = E.fill_instance_holes(layer, inst.id)
    expected = ndimage.binary_fill_holes(holed.to_full())
    assert np.array_equal(layer.instance(inst.id).mask.to_full(), expected)
    edit.undo(layer)
    assert layer.instance(inst.id).mask == holed


def test_replace_layer_is_one_undoable_step(aerial_map, nuclei_masks):
    layer = Layer(aerial_map.copy())
    prediction = Layer(np.where(aerial_map == 2, 4, aerial_map).astype(np.uint8))
    edit = E.replace_layer(layer, prediction)
    assert np.array_equal(layer.label_map, prediction.label_map)
    assert layer.label_map is not prediction.label_map  # later edits never touch the prediction
    edit.undo(layer)
    assert np.array_equal(layer.label_map, aerial_map)
    assert edit.bbox == (0, 0, aerial_map.shape[1], aerial_map.shape[0])
    assert E.replace_layer(layer, Layer(aerial_map.copy())) is None
