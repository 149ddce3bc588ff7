"""Operations on a layer's instances: pixel strokes on one instance's mask, and object edits.

Erasing an instance down to nothing keeps it as an EMPTY instance (same id, same class): a stroke
that grows it back stays one simple pixel edit, ids do not jump, and the user sees "empty" in the
list. `remove_empty_instances` (the GUI calls it when a stroke ends, grouped with the stroke)
deletes such leftovers; exporters skip empty masks.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable

import cv2
import numpy as np

from maskwork.core.domain.annotation import Instance, Layer, Source
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.editing import shapes
from maskwork.core.editing.records import InstanceMaskEdit, InstancesEdit, LayerEdit


def _find(layer: Layer, instance_id: int) -> tuple[int, Instance]:
    for k, inst in enumerate(layer.instances):
        if inst.id == instance_id:
            return k, inst
    raise InputError(f"no instance with id {instance_id} in this layer (ids: {[i.id for i in layer.instances]})")


# ---- pixels of one instance ------------------------------------------------------------------
def edit_instance_window(layer: Layer, instance_id: int, x0: int, y0: int, shape: np.ndarray,
                         erase: bool, label: str) -> InstanceMaskEdit | None:
    """Add (or remove, erase=True) the bool window `shape` at (x0, y0) to an instance's mask."""
    _, inst = _find(layer, instance_id)
    h, w = shape.shape
    before = inst.mask.region(x0, y0, x0 + w, y0 + h)
    after = before & ~shape if erase else before | shape
    if np.array_equal(before, after):
        return None
    edit = InstanceMaskEdit(label, instance_id, x0, y0, before, after, old_box=inst.box, new_box=None,
                            old_source=inst.source, new_source=Source.PERSON)
    edit.redo(layer)  # the drawn mask no longer fits a model's box: the box follows the mask; drawn = a person's
    return edit


def instance_segment(layer: Layer, instance_id: int, p0, p1, radius: int, erase: bool = False,
                     keep_others: bool = False) -> InstanceMaskEdit | None:
    """Brush (or erase) a round-capped segment on one instance; it may grow past its old bbox.

    keep_others=True never paints over other instances (touching nuclei stay separate)."""
    _, inst = _find(layer, instance_id)
    win = shapes.capsule(p0, p1, radius, inst.mask.height, inst.mask.width)
    if win is None:
        return None
    x0, y0, shape = win
    if keep_others and not erase:
        shape = shape & ~_others_in_window(layer, instance_id, x0, y0, *shape.shape)
    return edit_instance_window(layer, instance_id, x0, y0, shape, erase, "Eraser" if erase else "Brush")


def _others_in_window(layer: Layer, instance_id: int, x0: int, y0: int, h: int, w: int) -> np.ndarray:
    """Union of the other instances' pixels in a window (only those whose box overlaps it)."""
    taken = np.zeros((h, w), bool)
    for other in layer.instances:
        m = other.mask
        if other.id != instance_id and not m.is_empty and m.x0 < x0 + w and x0 < m.x1 and m.y0 < y0 + h and y0 < m.y1:
            taken |= m.region(x0, y0, x0 + w, y0 + h)
    return taken


def fill_instance_holes(layer: Layer, instance_id: int) -> InstanceMaskEdit | None:
    """Fill the holes of an instance (background not 4-connected to the outside of its box)."""
    _, inst = _find(layer, instance_id)
    if inst.mask.is_empty:
        return None
    crop = np.pad(inst.mask.crop, 1).astype(np.uint8)
    outside = np.zeros((crop.shape[0] + 2, crop.shape[1] + 2), np.uint8)
    cv2.floodFill(crop, outside, (0, 0), 1, 0, 0, 4 | (1 << 8) | cv2.FLOODFILL_MASK_ONLY)
    holes = ~outside[2:-2, 2:-2].view(bool) & ~inst.mask.crop
    if not holes.any():
        return None
    return edit_instance_window(layer, instance_id, inst.mask.x0, inst.mask.y0, holes, False, "Fill holes")


def set_instance_mask(layer: Layer, instance_id: int, mask: Mask, label: str) -> InstanceMaskEdit | None:
    """Make `mask` the instance's mask (the fix tool's result): one edit over the window where the two differ."""
    _, inst = _find(layer, instance_id)
    boxes = [m for m in (inst.mask, mask) if not m.is_empty]
    if not boxes:
        return None
    x0, y0 = min(m.x0 for m in boxes), min(m.y0 for m in boxes)
    x1, y1 = max(m.x1 for m in boxes), max(m.y1 for m in boxes)
    before, after = inst.mask.region(x0, y0, x1, y1), mask.region(x0, y0, x1, y1)
    if np.array_equal(before, after):
        return None
    edit = InstanceMaskEdit(label, instance_id, x0, y0, before, after, old_box=inst.box, new_box=None,
                            old_source=inst.source, new_source=Source.PERSON)
    edit.redo(layer)
    return edit


def remove_empty_instances(layer: Layer) -> InstancesEdit | None:
    """Delete instances erased to nothing; box-only objects (a box, no mask yet: box_ops) stay. An
    erased instance has lost its box with its first erased pixel (edit_instance_window)."""
    ids = [i.id for i in layer.instances if i.mask.is_empty and i.box is None]
    return delete_instances(layer, ids, label="Remove empty") if ids else None


# ---- objects -------------------------------------------------------------------------------------
def create_instance(layer: Layer, mask: Mask, class_id: int, score: float | None = None,
                    source: Source = Source.PERSON, label: str = "New object") -> InstancesEdit | None:
    """Append a new instance (next free id); None for an empty mask. `edit.added_ids[0]` is its id."""
    if mask.is_empty:
        return None
    shape = _layer_shape(layer)
    if shape is not None and shape != mask.shape:
        raise InputError(f"the new mask is {mask.width}x{mask.height} but the image is {shape[1]}x{shape[0]}")
    inst = Instance(layer.next_instance_id(), int(class_id), mask, score=score, source=source)
    edit = InstancesEdit(label, removed=[], added=[(len(layer.instances), inst)])
    edit.redo(layer)
    return edit


def polygon_instance(layer: Layer, points, class_id: int, height: int, width: int) -> InstancesEdit | None:
    """A new instance from a polygon [(x, y), ...] in an image of height x width."""
    win = shapes.polygon(points, height, width)
    if win is None:
        return None
    x0, y0, crop = win
    return create_instance(layer, Mask.from_crop(height, width, x0, y0, crop), class_id, label="Polygon object")


def delete_instances(layer: Layer, ids: Iterable[int], label: str = "Delete") -> InstancesEdit | None:
    found = sorted(_find(layer, i) for i in set(ids))
    if not found:
        return None
    edit = InstancesEdit(label, removed=[(k, inst) for k, inst in found], added=[])
    edit.redo(layer)
    return edit


def merge_instances(layer: Layer, ids: list[int]) -> InstancesEdit | None:
    """Union the masks into the first id's instance (its id, class, position); others are removed."""
    ids = list(dict.fromkeys(ids))
    if len(ids) < 2:
        return None
    found = [_find(layer, i) for i in ids]
    masks = [inst.mask for _, inst in found if not inst.mask.is_empty]
    first_index, first = found[0]
    merged_mask = _union(masks, first.mask)
    merged = dataclasses.replace(first, mask=merged_mask, box=None, score=None, source=Source.PERSON)
    removed = sorted(found, key=lambda f: f[0])
    # after removal, the merged object goes where the first one was among the survivors
    new_index = first_index - sum(1 for k, _ in found[1:] if k < first_index)
    edit = InstancesEdit("Merge", removed=removed, added=[(new_index, merged)])
    edit.redo(layer)
    return edit


def set_instance_class(layer: Layer, ids: Iterable[int], class_id: int) -> InstancesEdit | None:
    found = sorted(_find(layer, i) for i in set(ids))
    found = [(k, inst) for k, inst in found if inst.class_id != int(class_id)]
    if not found:
        return None
    # a class picked by a person: the object is theirs now (the model's score stays, for the record)
    added = [(k, dataclasses.replace(inst, class_id=int(class_id), source=Source.PERSON)) for k, inst in found]
    edit = InstancesEdit("Change class", removed=found, added=added)
    edit.redo(layer)
    return edit


def replace_layer(layer: Layer, source: Layer, label: str = "Accept prediction") -> LayerEdit | None:
    """Make `layer` a copy of `source` (e.g. the prediction) as one undoable step."""
    new = source.copy()
    old = Layer(layer.label_map, list(layer.instances))
    same_map = (old.label_map is None and new.label_map is None) or (
        old.label_map is not None and new.label_map is not None and np.array_equal(old.label_map, new.label_map))
    if same_map and old.instances == new.instances:
        return None
    edit = LayerEdit(label, old, new)
    edit.redo(layer)
    return edit


# ---- helpers -------------------------------------------------------------------------------------
def _layer_shape(layer: Layer) -> tuple[int, int] | None:
    if layer.label_map is not None:
        return tuple(layer.label_map.shape[:2])
    return layer.instances[0].mask.shape if layer.instances else None


def _union(masks: list[Mask], like: Mask) -> Mask:
    if not masks:
        return Mask.empty(like.height, like.width)
    x0, y0 = min(m.x0 for m in masks), min(m.y0 for m in masks)
    x1, y1 = max(m.x1 for m in masks), max(m.y1 for m in masks)
    canvas = np.zeros((y1 - y0, x1 - x0), bool)
    for m in masks:
        canvas[m.y0 - y0 : m.y1 - y0, m.x0 - x0 : m.x1 - x0] |= m.crop
    return Mask.from_crop(like.height, like.width, x0, y0, canvas)
