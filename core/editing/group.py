"""One undo step made of many edits: a mouse stroke is dozens of brush segments.

`EditGroup.add()` collects the segments while the mouse moves; `finish(layer)` closes the step.
When all parts are window edits of the same target, finish() stores whichever is smaller: the
list of parts, or ONE window over their union bbox holding the first 'before' of every pixel.
"""
from __future__ import annotations

from dataclasses import dataclass, field

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


def _same_target(edits: list[Edit]) -> bool:
    first = edits[0]
    if isinstance(first, LabelMapEdit):
        return all(isinstance(e, LabelMapEdit) for e in edits)
    if isinstance(first, InstanceMaskEdit):
        return all(isinstance(e, InstanceMaskEdit) and e.instance_id == first.instance_id for e in edits)
    return False


def merge_window_edits(edits: list[Edit], layer: Layer, label: str) -> LabelMapEdit | InstanceMaskEdit | None:
    """One window edit equivalent to applying `edits` in order, or None if they are not all window
    edits of the same target. The union window is read from `layer` (state after the edits)."""
    if not edits or not _same_target(edits):
        return None
    x0, y0, x1, y1 = union_bbox(e.bbox for e in edits)
    first = edits[0]
    if isinstance(first, LabelMapEdit):
        after = layer.label_map[y0:y1, x0:x1].copy()
    else:
        after = layer.instance(first.instance_id).mask.region(x0, y0, x1, y1)
    before = after.copy()
    for e in reversed(edits):  # the earliest 'before' of each pixel is written last
        ex0, ey0, ex1, ey1 = e.bbox
        before[ey0 - y0 : ey1 - y0, ex0 - x0 : ex1 - x0] = e.before
    if isinstance(first, LabelMapEdit):
        return LabelMapEdit(label, x0, y0, before, after)
    return InstanceMaskEdit(label, first.instance_id, x0, y0, before, after,
                            old_box=first.old_box, new_box=edits[-1].new_box,
                            old_source=first.old_source, new_source=edits[-1].new_source)
