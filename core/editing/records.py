"""Undo records: what one editing operation changed, and how to undo/redo it exactly.

A record holds only the changed region: a window (bbox) with the pixels before and after for
pixel edits, or the old/new Instance objects for object edits (Masks are immutable and cropped,
so holding them costs the object's size). Records assume a linear undo history (as QUndoStack
keeps): `undo` is applied to the layer in the state right after the edit, `redo` right before it.
See docs/adr/0002-undo-records.md.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from maskwork.core.domain.annotation import Instance, Layer, Source
from maskwork.core.domain.errors import InputError

BBox = tuple[int, int, int, int]  # (x0, y0, x1, y1), x1/y1 exclusive
RECORD_OVERHEAD = 200  # bytes of Python objects per record, so empty-ish edits are not "free"


class PixelChange(NamedTuple):
    """One window of a label map before and after an edit (for incremental metrics)."""

    x0: int
    y0: int
    before: np.ndarray
    after: np.ndarray


def union_bbox(boxes) -> BBox | None:
    boxes = [b for b in boxes if b is not None and b[0] < b[2] and b[1] < b[3]]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def mask_bbox(mask) -> BBox | None:
    return None if mask.is_empty else (mask.x0, mask.y0, mask.x1, mask.y1)


def editable_label_map(layer: Layer) -> np.ndarray:
    if layer.label_map is None:
        raise InputError("this layer has no label map to edit; create one first (semantic task)")
    return layer.label_map


class Edit:
    """Base of all undo records."""

    label: str  # shown in the Edit menu: "Brush", "Fill", ...

    @property
    def bbox(self) -> BBox:
        """(x0, y0, x1, y1) of the image region to repaint; x1/y1 exclusive."""
        raise NotImplementedError

    @property
    def nbytes(self) -> int:
        raise NotImplementedError

    def undo(self, layer: Layer) -> None:
        raise NotImplementedError

    def redo(self, layer: Layer) -> None:
        raise NotImplementedError

    def label_map_changes(self) -> list[PixelChange] | None:
        """Label-map windows changed, in order; [] when the label map is untouched; None when the
        whole map was replaced in a way that windows cannot describe (metrics must recompute)."""
        return []


@dataclass(eq=False)
class LabelMapEdit(Edit):
    """Pixels of the semantic label map in one window."""

    label: str
    x0: int
    y0: int
    before: np.ndarray
    after: np.ndarray

    @property
    def bbox(self) -> BBox:
        h, w = self.before.shape
        return (self.x0, self.y0, self.x0 + w, self.y0 + h)

    @property
    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes + RECORD_OVERHEAD

    def _write(self, layer: Layer, pixels: np.ndarray) -> None:
        x0, y0, x1, y1 = self.bbox
        editable_label_map(layer)[y0:y1, x0:x1] = pixels

    def undo(self, layer: Layer) -> None:
        self._write(layer, self.before)

    def redo(self, layer: Layer) -> None:
        self._write(layer, self.after)

    def label_map_changes(self) -> list[PixelChange]:
        return [PixelChange(self.x0, self.y0, self.before, self.after)]


@dataclass(eq=False)
class InstanceMaskEdit(Edit):
    """Pixels of one instance's mask in one window (bool before/after), plus its box and its source
    (a model's object edited by hand becomes the person's: the Objects panel's Source column)."""

    label: str
    instance_id: int
    x0: int
    y0: int
    before: np.ndarray
    after: np.ndarray
    old_box: tuple | None = None
    new_box: tuple | None = None
    old_source: Source | None = None  # None: the source is left as it is
    new_source: Source | None = None

    @property
    def bbox(self) -> BBox:
        h, w = self.before.shape
        return (self.x0, self.y0, self.x0 + w, self.y0 + h)

    @property
    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes + RECORD_OVERHEAD

    def _write(self, layer: Layer, pixels: np.ndarray, box, source: Source | None) -> None:
        inst = layer.instance(self.instance_id)
        inst.mask = inst.mask.with_region(self.x0, self.y0, pixels)
        inst.box = box
        if source is not None:
            inst.source = source

    def undo(self, layer: Layer) -> None:
        self._write(layer, self.before, self.old_box, self.old_source)

    def redo(self, layer: Layer) -> None:
        self._write(layer, self.after, self.new_box, self.new_source)


@dataclass(eq=False)
class InstancesEdit(Edit):
    """Objects removed and added at list positions (create, delete, merge, change class).

    `removed`/`added` hold (index, Instance) with indices in ascending order; removal happens
    first (indices of the list before), then insertion (indices of the list after).
    """

    label: str
    removed: list[tuple[int, Instance]]
    added: list[tuple[int, Instance]]

    @property
    def bbox(self) -> BBox:
        boxes = [mask_bbox(i.mask) for _, i in self.removed + self.added]
        return union_bbox(boxes) or (0, 0, 0, 0)

    @property
    def nbytes(self) -> int:
        masks = {id(i.mask): i.mask.crop.nbytes for _, i in self.removed + self.added}
        return sum(masks.values()) + RECORD_OVERHEAD * (1 + len(self.removed) + len(self.added))

    @property
    def added_ids(self) -> list[int]:
        return [i.id for _, i in self.added]

    @staticmethod
    def _swap(layer: Layer, out: list[tuple[int, Instance]], into: list[tuple[int, Instance]]) -> None:
        for _, inst in reversed(out):
            pos = next((k for k, i in enumerate(layer.instances) if i.id == inst.id), None)
            if pos is None:
                raise InputError(f"undo history does not match the layer: instance {inst.id} is missing")
            del layer.instances[pos]
        for index, inst in into:
            # a copy, so later in-place edits of the layer never alter this record
            layer.instances.insert(index, copy.copy(inst))

    def undo(self, layer: Layer) -> None:
        self._swap(layer, self.added, self.removed)

    def redo(self, layer: Layer) -> None:
        self._swap(layer, self.removed, self.added)


@dataclass(eq=False)
class LayerEdit(Edit):
    """The whole layer replaced (accept prediction, clear all). Costs the layer's size, by nature."""

    label: str
    old: Layer
    new: Layer

    @staticmethod
    def _shape(layer: Layer) -> tuple[int, int] | None:
        if layer.label_map is not None:
            return layer.label_map.shape[:2]
        if layer.instances:
            return layer.instances[0].mask.shape
        return None

    @property
    def bbox(self) -> BBox:
        shape = self._shape(self.new) or self._shape(self.old) or (0, 0)
        return (0, 0, shape[1], shape[0])

    @property
    def nbytes(self) -> int:
        total = RECORD_OVERHEAD
        for layer in (self.old, self.new):
            if layer.label_map is not None:
                total += layer.label_map.nbytes
            total += sum(i.mask.crop.nbytes + RECORD_OVERHEAD for i in layer.instances)
        return total

    @staticmethod
    def _set(layer: Layer, source: Layer) -> None:
        layer.label_map = source.label_map
        # copies, like InstancesEdit: later in-place edits of the layer (InstanceMaskEdit) must not alter
        # this record, whose objects InstancesEdit's redo would otherwise no longer be
        layer.instances = [copy.copy(i) for i in source.instances]

    def undo(self, layer: Layer) -> None:
        self._set(layer, self.old)

    def redo(self, layer: Layer) -> None:
        self._set(layer, self.new)

    def label_map_changes(self) -> list[PixelChange] | None:
        a, b = self.old.label_map, self.new.label_map
        if a is None and b is None:
            return []
        if a is None or b is None or a.shape != b.shape:
            return None
        return [PixelChange(0, 0, a, b)]
