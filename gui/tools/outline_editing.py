"""The outline being edited and its changes, between the outline tool and core.editing.outline_ops.

Instance projects edit the outline of the selected instance (the part clicked, when it has several);
semantic projects edit the connected region of one class under the click (pixels it gives up become
unlabeled; locked classes are never taken). While a vertex is dragged, the mask follows: each move
takes back the previous tentative change and applies the new one, all relative to the state at the
press; the release pushes ONE undo step (gui/controllers/undo.py, which also journals it). No pixel logic here.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

import maskwork.core.editing as ed
from maskwork.core.editing import outline_ops
from maskwork.core.editing.records import union_bbox
from maskwork.core.view.render import instance_at


class Target(NamedTuple):
    instance_id: int | None  # None: a region of class_id in the label map (semantic)
    class_id: int
    outline: outline_ops.Outline


class OutlineEditing:
    def __init__(self, editor) -> None:
        self.editor, self.state = editor, editor.state
        self.target: Target | None = None
        # (edit, reshape) applied to the layer during a drag
        self._pending: tuple[ed.InstanceMaskEdit | ed.LabelMapEdit, outline_ops.Reshape] | None = None
        self.own_change = False   # True while we repaint our own change (not a reason to re-trace)

    @property
    def points(self) -> list[tuple[int, int]]:
        return [] if self.target is None else list(self.target.outline.points)

    # ---- what is edited ------------------------------------------------------------------------
    def pick(self, p) -> bool:
        """The object under pixel p: select the instance, or trace the class region (semantic)."""
        layer = self.editor.layer
        if layer is None:
            return False
        if self.editor.instance_mode:
            hit = instance_at(self.editor.shown_layer(), *p)
            self.editor.set_selection([] if hit is None else [hit.id])
            if hit is not None:
                self.load_instance(hit.id, seed=p)
            return hit is not None
        traced = outline_ops.trace_region(layer, p) if layer.label_map is not None else None
        if traced is None or traced[0] in self.state.flags.hidden_classes:
            self.clear()
            return False
        self.target = Target(None, *traced)
        self.state.set_current_class(traced[0])
        return True

    def load_instance(self, instance_id: int | None, seed=None) -> None:
        """Outline of an instance (the part holding `seed`, else its largest); None clears."""
        layer = self.editor.layer
        try:
            inst = None if instance_id is None or layer is None else layer.instance(instance_id)
        except KeyError:
            inst = None
        if inst is None or self.state.flags.is_hidden(inst):
            self.target = None
            return
        if seed is None and self.target is not None and self.target.instance_id == instance_id:
            seed = _seed(self.target.outline)  # keep following the same part
        outline = outline_ops.trace_mask(inst.mask, seed)
        self.target = None if outline is None else Target(instance_id, inst.class_id, outline)

    def retrace(self) -> None:
        """The layer changed from outside (undo, brush, another tool): outline what is there now."""
        if self.target is None or self.own_change:
            return
        seed = _seed(self.target.outline)
        if self.target.instance_id is not None:
            self.load_instance(self.target.instance_id, seed)
            return
        layer = self.editor.layer
        traced = outline_ops.trace_region(layer, seed) if layer is not None and layer.label_map is not None else None
        self.target = Target(None, *traced) if traced is not None and traced[0] == self.target.class_id else None

    def clear(self) -> None:
        self.cancel_drag()
        self.target = None

    def refused(self) -> bool:
        """True (the status bar says why) when the target may not be edited now."""
        if self.target is None or self.state.refuse_read_only():
            return True
        flags, t = self.state.flags, self.target
        what = ("class" if t.class_id in flags.locked_classes
                else f"instance {t.instance_id}" if t.instance_id in flags.locked_ids() else "")
        if what:
            self.state.status_message.emit(f"Locked: this {what} is locked against edits; unlock it in the "
                                           "Objects panel to edit its outline.")
        return bool(what)

    # ---- changes -------------------------------------------------------------------------------
    def insert_vertex(self, index: int, q) -> None:
        """A vertex on an edge: the same shape, one more handle (no pixel changes, no undo step)."""
        if self.target is None:  # the tool shows edges of a target only
            return
        pts = self.points
        pts.insert(index, tuple(q))
        outline = dataclasses.replace(self.target.outline, points=tuple(pts))
        self.target = self.target._replace(outline=outline)

    def drag(self, points) -> None:
        """Show the mask for `points` (tentative: taken back by the next call, cancel or commit)."""
        old_box = self._take_back()
        result = self._apply(points)
        self._pending = result
        self._repaint(old_box, None if result is None else result[0].bbox)

    def commit(self, points, label: str = "Edit outline") -> bool:
        """Make the change to `points` one undo step; the outline keeps the user's vertices."""
        if self.target is None:  # nothing picked: nothing to change
            return False
        if self._pending is None:
            self.drag(points)
        pending, self._pending = self._pending, None
        if pending is None:  # no pixel changed: the handles still move
            self.target = self.target._replace(outline=dataclasses.replace(self.target.outline, points=tuple(points)))
            return False
        edit, change = pending
        edit.label = label
        group = ed.EditGroup(label=label)
        group.add(edit)
        layer = self.editor.layer
        removed = group.add(ed.remove_empty_instances(layer)) if self.target.instance_id is not None else None
        record = group.finish(layer)
        self.editor.undo.push(self.state, record)
        outline = self.target.outline.moved(points, change)
        self.target = None if removed is not None or outline.part.is_empty else self.target._replace(outline=outline)
        if removed is not None:
            self.editor.set_selection([])
            self._repaint(removed.bbox, None)
        return True

    def delete_vertex(self, index: int) -> bool:
        pts = self.points
        if len(pts) <= 3:
            self.state.status_message.emit("An outline keeps at least 3 vertices; to remove the whole object "
                                           "select it and press Del.")
            return False
        del pts[index]
        return self.commit(pts, "Delete vertex")

    def cancel_drag(self) -> None:
        box = self._take_back()
        if box is not None:
            self._repaint(box, None)

    # ---- helpers -------------------------------------------------------------------------------
    def _apply(self, points) -> tuple[ed.InstanceMaskEdit | ed.LabelMapEdit, outline_ops.Reshape] | None:
        t, layer = self.target, self.editor.layer
        if t is None:  # nothing picked: nothing to reshape
            return None
        if t.instance_id is not None:
            return outline_ops.apply_instance_outline(layer, t.instance_id, t.outline, points)
        return outline_ops.apply_region_outline(layer, t.class_id, t.outline, points,
                                                protect=self.state.flags.locked_classes)

    def _take_back(self):
        if self._pending is None:
            return None
        edit, _ = self._pending
        self._pending = None
        edit.undo(self.editor.layer)
        return edit.bbox

    def _repaint(self, *boxes) -> None:
        box = union_bbox(boxes)
        if box is None:
            return
        self.own_change = True
        try:
            self.state.notify_edit(box)
        finally:
            self.own_change = False


def _seed(outline) -> tuple[int, int]:
    """A pixel of the outline's part (the middle one in scan order) to find it again."""
    ys, xs = np.nonzero(outline.part.crop)
    k = len(ys) // 2
    return int(xs[k]) + outline.part.x0, int(ys[k]) + outline.part.y0
