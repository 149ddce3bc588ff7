"""Accept part of a model's prediction into the corrected layer: one predicted region (semantic) or
some predicted instances (instance), each call one undo record. "Accept prediction" (replace_layer)
takes everything; these take only what the user clicked."""
from __future__ import annotations

import dataclasses
from typing import Iterable, NamedTuple

import cv2
import numpy as np

from maskwork.core.domain.annotation import UNLABELED, Instance, Layer
from maskwork.core.domain.errors import InputError
from maskwork.core.editing.label_ops import paint_window
from maskwork.core.editing.records import InstancesEdit, LabelMapEdit


class Region(NamedTuple):
    """A bool window at (x0, y0) and the class it was predicted as."""

    x0: int
    y0: int
    pixels: np.ndarray
    class_id: int


def predicted_region(prediction: Layer | None, seed) -> Region | None:
    """The 8-connected region of the prediction's label map holding the seed's class (diagonal steps
    of a thin road stay one region). None off the image, with no label map, or on unlabeled pixels.

    cv2.floodFill touches only the region's pixels; the result is cropped to its bounding box."""
    if prediction is None or prediction.label_map is None:
        return None
    label_map = prediction.label_map
    h, w = label_map.shape[:2]
    x, y = (int(v) for v in seed)
    if not (0 <= x < w and 0 <= y < h):
        return None
    class_id = int(label_map[y, x])
    if class_id == UNLABELED:
        return None
    # np.zeros maps lazily zeroed pages: only the rows the fill reaches are touched
    region = np.zeros((h + 2, w + 2), np.uint8)
    flags = 8 | (1 << 8) | cv2.FLOODFILL_MASK_ONLY
    if label_map.dtype == np.uint8 and label_map.flags.c_contiguous:
        source = label_map
    else:  # floodFill takes 8-bit or float images
        source = label_map.astype(np.float32)
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(source, region, (x, y), 0, 0, 0, flags)
    pixels = region[ry + 1 : ry + 1 + rh, rx + 1 : rx + 1 + rw].astype(bool)
    return Region(int(rx), int(ry), pixels, class_id)


def accept_region(layer: Layer, region: Region, label: str = "Accept region") -> LabelMapEdit | None:
    """Paint a predicted region (from predicted_region) into the layer's label map with its class;
    None when the corrected map already holds it."""
    return paint_window(layer, region.x0, region.y0, region.pixels, region.class_id, label)


def accept_instances(layer: Layer, prediction: Layer, ids: Iterable[int],
                     label: str = "Accept instance") -> InstancesEdit | None:
    """Copy the predicted instances `ids` into the layer as new instances (next free ids, class,
    score and source kept). One already in the layer with the same pixels is skipped, so a second
    click never duplicates it. None when nothing is added."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    by_id = {inst.id: inst for inst in prediction.instances}
    missing = [i for i in wanted if i not in by_id]
    if missing:
        raise InputError(f"the prediction has no instance {missing[0]} (ids: {sorted(by_id)})")
    added: list[tuple[int, Instance]] = []
    next_id = layer.next_instance_id()
    for pid in wanted:
        inst = by_id[pid]
        if inst.mask.is_empty or any(_same_pixels(inst.mask, other.mask) for other in layer.instances):
            continue
        added.append((len(layer.instances) + len(added), dataclasses.replace(inst, id=next_id)))
        next_id += 1
    if not added:
        return None
    edit = InstancesEdit(label, removed=[], added=added)
    edit.redo(layer)
    return edit


def _same_pixels(a, b) -> bool:
    return (a.shape == b.shape and a.x0 == b.x0 and a.y0 == b.y0 and a.crop.shape == b.crop.shape
            and np.array_equal(a.crop, b.crop))


MATCH_IOU = 0.5  # a predicted instance with at least this IoU with a corrected one is already there


def has_corrections(layer: Layer) -> bool:
    """True when the layer holds work a whole-layer replace would lose (instances or labelled pixels)."""
    if layer.instances:
        return True
    return layer.label_map is not None and bool(np.any(layer.label_map != UNLABELED))


def accept_unmatched(layer: Layer, prediction: Layer, label: str = "Accept unmatched prediction"):
    """Add only what the corrections lack, as one undo record (None when nothing is added).

    Instances: the predicted instances whose IoU is below MATCH_IOU with every corrected instance.
    Label map: the predicted class only where the corrected map is still unlabeled."""
    if prediction.instances or prediction.label_map is None:
        new = [p.id for p in prediction.instances
               if not p.mask.is_empty and all(p.mask.iou(c.mask) < MATCH_IOU for c in layer.instances)]
        return accept_instances(layer, prediction, new, label) if new else None
    if layer.label_map is None:
        layer.label_map = np.full(prediction.label_map.shape[:2], UNLABELED, prediction.label_map.dtype)
    h, w = prediction.label_map.shape[:2]
    window = layer.label_map[:h, :w]
    change = (window == UNLABELED) & (prediction.label_map != UNLABELED)
    if not change.any():
        return None
    ys, xs = np.nonzero(change)  # the record covers only the changed box
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    win = layer.label_map[y0:y1, x0:x1]
    before = win.copy()
    sub = change[y0:y1, x0:x1]
    win[sub] = prediction.label_map[y0:y1, x0:x1][sub]
    return LabelMapEdit(label, int(x0), int(y0), before, win.copy())
