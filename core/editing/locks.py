"""Objects locked against edits: what an already-applied edit may keep.

The GUI runs every editing operation, then `restrict` takes back whatever it did to locked objects,
so one rule covers the brush, eraser, fill, polygon, click-to-segment and object operations:

- label map: a pixel whose class before or after the edit is locked keeps its old class (a brush
  stroke over a locked class paints around it; painting with a locked class paints nothing);
- instances: an edit of a locked instance's pixels, deleting, merging or re-classing it, and
  creating an instance of a locked class are refused whole;
- a whole-layer replace (accept prediction) keeps locked label-map pixels and is refused when it
  would drop locked instances.

Undo and redo are not edits: they replay history and are never restricted.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from maskwork.core.domain.annotation import Instance, Layer
from maskwork.core.editing.group import EditGroup, merge_window_edits
from maskwork.core.editing.records import (
    Edit,
    InstanceMaskEdit,
    InstancesEdit,
    LabelMapEdit,
    LayerEdit,
    editable_label_map,
)


@dataclass(frozen=True)
class EditLocks:
    instance_ids: frozenset[int] = frozenset()  # of the image being edited
    class_ids: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.instance_ids or self.class_ids)

    def locks(self, inst: Instance) -> bool:
        return inst.id in self.instance_ids or inst.class_id in self.class_ids


def restrict(edit: Edit | None, layer: Layer, locks: EditLocks) -> tuple[Edit | None, str]:
    """(what remains of `edit`, why something was taken back or ""). `edit` is applied to `layer`;
    whatever is taken back is undone on the layer, so layer and returned record stay in step."""
    if edit is None or not locks:
        return edit, ""
    for kind, rule in _RULES:
        if isinstance(edit, kind):
            return rule(edit, layer, locks)
    return edit, ""


def _label_pixels(edit: LabelMapEdit, layer: Layer, locks: EditLocks) -> tuple[Edit | None, str]:
    blocked = (edit.before != edit.after) & _locked_pixels(edit.before, edit.after, locks)
    if not blocked.any():
        return edit, ""
    after = np.where(blocked, edit.before, edit.after)
    x0, y0, x1, y1 = edit.bbox
    editable_label_map(layer)[y0:y1, x0:x1] = after
    why = "locked classes keep their pixels"
    if np.array_equal(after, edit.before):
        return None, why
    return LabelMapEdit(edit.label, edit.x0, edit.y0, edit.before, after), why


def _locked_pixels(before: np.ndarray, after: np.ndarray, locks: EditLocks) -> np.ndarray:
    classes = list(locks.class_ids)
    return np.isin(before, classes) | np.isin(after, classes)


def _instance_pixels(edit: InstanceMaskEdit, layer: Layer, locks: EditLocks) -> tuple[Edit | None, str]:
    inst = layer.instance(edit.instance_id)
    if not locks.locks(inst):
        return edit, ""
    edit.undo(layer)
    return None, f"instance {inst.id} is locked"


def _objects(edit: InstancesEdit, layer: Layer, locks: EditLocks) -> tuple[Edit | None, str]:
    gone = [i for _, i in edit.removed if locks.locks(i)]
    made = [i for _, i in edit.added if i.class_id in locks.class_ids and not any(
        r.id == i.id and r.class_id == i.class_id for _, r in edit.removed)]
    if not gone and not made:
        return edit, ""
    edit.undo(layer)
    if gone:
        return None, f"instance {gone[0].id} is locked"
    return None, "its class is locked"


def _layer(edit: LayerEdit, layer: Layer, locks: EditLocks) -> tuple[Edit | None, str]:
    kept = [i for i in edit.old.instances if locks.locks(i)]
    if kept:
        edit.undo(layer)
        return None, f"{len(kept)} locked instance{'s' if len(kept) > 1 else ''} would be replaced"
    old, new = edit.old.label_map, edit.new.label_map
    if old is None or new is None or old.shape != new.shape:
        return edit, ""
    blocked = (old != new) & _locked_pixels(old, new, locks)
    if not blocked.any():
        return edit, ""
    patched = np.where(blocked, old, new)
    layer.label_map = patched
    return LayerEdit(edit.label, edit.old, Layer(patched, list(edit.new.instances))), "locked classes keep their pixels"


def _group(edit: EditGroup, layer: Layer, locks: EditLocks) -> tuple[Edit | None, str]:
    """Window edits of one target are merged and restricted as one; a mixed group is all or nothing
    (its parts' stored windows cannot be replayed one by one once an earlier part is restricted)."""
    merged = merge_window_edits(edit.edits, layer, edit.label)
    if merged is not None:
        return restrict(merged, layer, locks)
    edit.undo(layer)
    for part in edit.edits:
        part.redo(layer)
        kept, why = restrict(part, layer, locks)
        if why:  # take the whole group back: restrict() already took back this part
            if kept is not None:
                kept.undo(layer)
            for done in reversed(edit.edits[: edit.edits.index(part)]):
                done.undo(layer)
            return None, why
    return edit, ""


_RULES: list[tuple[type, Callable[..., tuple[Edit | None, str]]]] = [
    (LabelMapEdit, _label_pixels),
    (InstanceMaskEdit, _instance_pixels),
    (InstancesEdit, _objects),
    (LayerEdit, _layer),
    (EditGroup, _group),
]
