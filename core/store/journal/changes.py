"""What one completed edit changed in an image's corrected layer, as a record that sets state.

`capture()` runs on the GUI thread right after an edit (or its undo/redo) was applied. It compares
the layer with what the log already holds (`Seen`) and copies only what differs: the label-map
window of the edit's bbox, the instances whose values changed (masks are immutable, so identity
tells a changed mask), the ids removed, the new order, the status. The first record of a log is
full (the whole layer), so a log replays on its own from its start.

`encode()` (writer thread) turns a Change into JSON; `apply()` (recovery) sets the state it
describes. Records set state rather than replay operations, so applying one twice is harmless.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

import numpy as np

from maskwork.core.domain.annotation import ImageAnnotation, Instance, Source, Status
from maskwork.core.store.annotation_json import decode_instance, decode_label_map, encode_instance, encode_label_map


class _Keep(Enum):
    KEEP = "keep"  # the label map as the log holds it


_KEEP = _Keep.KEEP


def _values(inst: Instance) -> tuple:
    return (inst.class_id, inst.mask, inst.score, inst.box, Source(inst.source).value, bool(inst.iscrowd))


def _same(a: tuple, b: tuple) -> bool:
    return a[1] is b[1] and a[0] == b[0] and a[2:] == b[2:]


@dataclass
class Seen:
    """The state of one image as the log holds it after its last record."""

    label_map: np.ndarray | None
    instances: dict[int, tuple]
    order: list[int]
    status: str


@dataclass
class Change:
    full: bool
    status: str
    height: int
    width: int
    # _KEEP, None (no map), or (x0, y0, window copy, map dtype)
    label_map: tuple[int, int, np.ndarray, str] | Literal[_Keep.KEEP] | None = _KEEP
    upsert: list[tuple[int, tuple]] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)
    order: list[int] | None = None


def _window(label_map: np.ndarray, bbox) -> tuple[int, int, np.ndarray] | None:
    h, w = label_map.shape[:2]
    x0, y0, x1, y1 = (0, 0, w, h) if bbox is None else bbox
    x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, label_map[y0:y1, x0:x1].copy()


def capture(ann: ImageAnnotation, bbox, seen: Seen | None) -> tuple[Change | None, Seen]:
    """The Change since `seen` (None: everything) and the new Seen. Cheap: copies the edit's window
    and references to immutable masks; a replaced label map is copied whole (that edit was whole)."""
    layer = ann.corrected
    status = Status(ann.status).value
    full = seen is None
    change = Change(full=full, status=status, height=ann.height, width=ann.width)
    lm = layer.label_map
    if seen is None or lm is not seen.label_map:
        change.label_map = None if lm is None else (0, 0, lm.copy(), lm.dtype.name)
    elif lm is not None:
        win = _window(lm, bbox)
        if win is not None:
            change.label_map = (*win, lm.dtype.name)
    now = {inst.id: _values(inst) for inst in layer.instances}
    order = [inst.id for inst in layer.instances]
    if seen is None:
        change.upsert, change.order = list(now.items()), order
    else:
        change.upsert = [(i, v) for i, v in now.items() if i not in seen.instances or not _same(v, seen.instances[i])]
        change.delete = [i for i in seen.instances if i not in now]
        change.order = None if order == seen.order else order
    new_seen = Seen(lm, now, order, status)
    if (seen is not None and change.label_map is _KEEP and not change.upsert and not change.delete
            and change.order is None and status == seen.status):
        return None, new_seen
    return change, new_seen


def encode(change: Change) -> dict:
    rec: dict = {"status": change.status}
    if change.full:
        rec["full"] = True
    if change.label_map is not _KEEP:
        if change.label_map is None:
            rec["lm"] = None
        else:
            x0, y0, window, dtype = change.label_map
            rec["lm"] = {"x0": x0, "y0": y0, "map_dtype": dtype, "h": int(window.shape[0]),
                         "w": int(window.shape[1]), **encode_label_map(window)}
    h, w = change.height, change.width
    if change.full or change.upsert or change.delete or change.order is not None:
        rec["inst"] = {
            "set": [encode_instance(Instance(i, v[0], v[1], v[2], v[3], Source(v[4]), v[5])) for i, v in change.upsert],
            "del": change.delete,
            "order": change.order,
            "size": [h, w],
        }
    return rec


def apply(ann: ImageAnnotation, rec: dict, where: str) -> None:
    """Set the state a record describes on `ann` (raises InputError/KeyError/ValueError if damaged)."""
    layer = ann.corrected
    ann.status = Status(rec["status"])
    if rec.get("full"):
        layer.label_map, layer.instances = None, []
    if "lm" in rec:
        item = rec["lm"]
        if item is None:
            layer.label_map = None
        else:
            window = decode_label_map(item, (int(item["h"]), int(item["w"])), where)
            dtype = np.dtype(item["map_dtype"])
            if layer.label_map is None:
                layer.label_map = np.zeros((ann.height, ann.width), dtype)
            elif layer.label_map.dtype != dtype:
                layer.label_map = layer.label_map.astype(dtype)
            x0, y0 = int(item["x0"]), int(item["y0"])
            layer.label_map[y0 : y0 + window.shape[0], x0 : x0 + window.shape[1]] = window
    inst = rec.get("inst")
    if inst is not None:
        by_id = {i.id: i for i in layer.instances}
        for gone in inst["del"]:
            by_id.pop(int(gone), None)
        for item in inst["set"]:
            new = decode_instance(item, ann.height, ann.width)
            by_id[new.id] = new
        # no order in the record: the order did not change (new ids always change it)
        order = inst["order"] if inst["order"] is not None else [i.id for i in layer.instances if i.id in by_id]
        if sorted(order) != sorted(by_id):
            raise ValueError(f"the instance order {order} does not match the instances {sorted(by_id)}")
        layer.instances = [by_id[int(i)] for i in order]
