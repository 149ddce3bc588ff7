"""One undo step made of many edits: a mouse stroke is dozens of brush segments.

`EditGroup.add()` collects the segments while the mouse moves; `finish(layer)` closes the step.
When all parts are window edits of the same target, finish() stores whichever is smaller: the
list of parts, or ONE window over their union bbox holding the first 'before' of every pixel.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeGuard

import numpy as np

from maskwork.core.domain.annotation import Layer
from maskwork.core.editing.records import (
    RECORD_OVERHEAD,
    BBox,
    Edit,
    InstanceMaskEdit,
    LabelMapEdit,
    PixelChange,
    union_bbox,
)


@dataclass(eq=False)
class EditGroup(Edit):
    label: str = "Stroke"
    edits: list[Edit] = field(default_factory=list)

    def add(self, edit: Edit | None) -> Edit | None:
        """Append an edit (None, from an operation that changed nothing, is skipped)."""
        if edit is not None:
            self.edits.append(edit)
        return edit

    def __len__(self) -> int:
        return len(self.edits)

    @property
    def bbox(self) -> BBox:
        return union_bbox(e.bbox for e in self.edits) or (0, 0, 0, 0)

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self.edits) + RECORD_OVERHEAD

    def undo(self, layer: Layer) -> None:
        for edit in reversed(self.edits):
            edit.undo(layer)

    def redo(self, layer: Layer) -> None:
        for edit in self.edits:
            edit.redo(layer)

    def label_map_changes(self) -> list[PixelChange] | None:
        changes: list[PixelChange] = []
        for edit in self.edits:
            part = edit.label_map_changes()
            if part is None:
                return None
            changes.extend(part)
        return changes

    def finish(self, layer: Layer) -> Edit | None:
        """Close the step on `layer` (in its state after all parts): None if nothing changed,
        else the cheapest exact record (a single part, a merged window, or this group)."""
        if not self.edits:
            return None
        merged = merge_window_edits(self.edits, layer, self.label)
        if merged is not None and merged.nbytes < self.nbytes:
            return merged if not np.array_equal(merged.before, merged.after) else None
        if len(self.edits) == 1:
            self.edits[0].label = self.label
            return self.edits[0]
        return self


def _label_map_edits(edits: list[Edit]) -> TypeGuard[list[LabelMapEdit]]:
    return all(isinstance(e, LabelMapEdit) for e in edits)


def _one_instance_edits(edits: list[Edit]) -> TypeGuard[list[InstanceMaskEdit]]:
    """Window edits of one instance's mask, all of them."""
    first = edits[0]
    return isinstance(first, InstanceMaskEdit) and all(
        isinstance(e, InstanceMaskEdit) and e.instance_id == first.instance_id for e in edits)


def merge_window_edits(edits: list[Edit], layer: Layer, label: str) -> LabelMapEdit | InstanceMaskEdit | None:
    """One window edit equivalent to applying `edits` in order, or None if they are not all window
    edits of the same target. The union window is read from `layer` (state after the edits)."""
    if not edits:
        return None
    if _label_map_edits(edits):
        box = union_bbox(e.bbox for e in edits)
        if box is None or layer.label_map is None:  # only empty windows, or no map to read back
            return None
        x0, y0, x1, y1 = box
        after = layer.label_map[y0:y1, x0:x1].copy()
        return LabelMapEdit(label, x0, y0, _before(edits, after, x0, y0), after)
    if _one_instance_edits(edits):
        box = union_bbox(e.bbox for e in edits)
        if box is None:
            return None
        x0, y0, x1, y1 = box
        first, last = edits[0], edits[-1]
        after = layer.instance(first.instance_id).mask.region(x0, y0, x1, y1)
        return InstanceMaskEdit(label, first.instance_id, x0, y0, _before(edits, after, x0, y0), after,
                                old_box=first.old_box, new_box=last.new_box,
                                old_source=first.old_source, new_source=last.new_source)
    return None


def _before(edits: Sequence[LabelMapEdit | InstanceMaskEdit], after: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """The window (at x0, y0, shaped like `after`) as it was before the first of `edits`."""
    before = after.copy()
    for e in reversed(edits):  # the earliest 'before' of each pixel is written last
        ex0, ey0, ex1, ey1 = e.bbox
        before[ey0 - y0 : ey1 - y0, ex0 - x0 : ex1 - x0] = e.before
    return before
