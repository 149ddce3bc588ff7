"""Editor operations of the click-to-segment tools (gui/tools/segment_*.py, accept.py): commit a
proposed mask, or accept what the model already predicted under a click. Each call is ONE undo
step made of core.editing operations; no pixel logic here.

Commit modes (the modifier held at Enter / double-click):
- "new"   semantic: paint the current class inside the mask; instance: a new instance of it.
- "add"   (Shift) semantic: paint only unlabeled pixels; instance: extend the selected instance.
- "cut"   (Ctrl)  semantic: set the mask's pixels to unlabeled; instance: cut it from the selected one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import maskwork.core.editing as ed
from maskwork.core.domain.annotation import UNLABELED, Layer
from maskwork.core.domain.masks import Mask
from maskwork.core.editing.shapes import polygon as polygon_window
from maskwork.core.view.render import instance_at

if TYPE_CHECKING:
    from maskwork.gui.controllers.undo import UndoStacks
    from maskwork.gui.state import AppState

MODES = ("new", "add", "cut")


class MaskCommitMixin:
    """Mixed into gui.controllers.editor.Editor, which provides what the block below declares."""

    if TYPE_CHECKING:  # declared for the type checker only: the Editor's own members are the real ones
        state: AppState
        undo: UndoStacks
        selected: list[int]

        @property
        def layer(self) -> Layer | None: ...
        @property
        def instance_mode(self) -> bool: ...
        def set_selection(self, ids: list[int]) -> None: ...
        def _guard(self, fn, *args) -> Any: ...
        def _record(self, edit) -> None: ...
        def _label_map(self) -> Any: ...

    def commit_mask(self, mask: Mask | None, mode: str = "new", label: str = "Segment") -> bool:
        """Apply `mask` as one undo step; False when nothing was applied (the tool keeps its
        preview so the user can pick an instance and try again)."""
        layer = self.layer
        if mask is None or mask.is_empty or layer is None or self.state.refuse_read_only():
            return False
        if self.instance_mode:
            return self._commit_instance(layer, mask, mode, label)
        self._label_map()
        if mode == "cut":
            edit = self._guard(ed.paint_window, self.layer, mask.x0, mask.y0, mask.crop, UNLABELED, label)
        else:
            only_on = [UNLABELED] if mode == "add" else None
            edit = self._guard(ed.paint_window, self.layer, mask.x0, mask.y0, mask.crop,
                               self.state.current_class, label, (), only_on)
        self._record(edit)
        return True

    def _commit_instance(self, layer: Layer, mask: Mask, mode: str, label: str) -> bool:
        if mode == "new":
            edit = self._guard(lambda: ed.create_instance(layer, mask, self.state.current_class, label=label))
            self._record(edit)
            if edit is not None:
                self.set_selection(list(edit.added_ids))
            return True
        if len(self.selected) != 1:
            verb = "extend" if mode == "add" else "cut"
            self.state.status_message.emit(f"Select one instance to {verb} (S, click it), then come back "
                                           "and press Enter again; Enter alone makes a new instance.")
            return False
        target = self.selected[0]
        group = ed.EditGroup(label=label)
        group.add(self._guard(ed.edit_instance_window, layer, target, mask.x0, mask.y0, mask.crop,
                              mode == "cut", label))
        removed = group.add(ed.remove_empty_instances(layer))  # cut to nothing: it goes
        edit = group.finish(layer)
        if edit is not None:
            self.undo.push(self.state, edit)
            self.state.notify_edit(edit.bbox)
        if removed is not None:
            self.set_selection([])
        return True

    def commit_fixed(self, target: int, mask: Mask, label: str = "Fix with clicks") -> bool:
        """Make `mask` the mask of instance `target` (the fix tool's result) as one undo step."""
        layer = self.layer
        if layer is None or not self.instance_mode or self.state.refuse_read_only():
            return False
        if mask.is_empty:
            self.state.status_message.emit("The fix would leave nothing of the object: Backspace takes the last "
                                           "click back; Delete removes the object.")
            return False
        edit = self._guard(ed.set_instance_mask, layer, target, mask, label)
        self._record(edit)
        return True

    def commit_polygon(self, points, mode: str = "new", label: str = "Scissors") -> bool:
        """The closed outline [(x, y), ...] as a mask, committed like commit_mask."""
        ann = self.state.annotation
        if ann is None or len(points) < 3:
            return False
        win = polygon_window(points, ann.height, ann.width)
        if win is None:
            return False
        return self.commit_mask(Mask.from_crop(ann.height, ann.width, *win), mode, label)

    # ---- accept what the model already found --------------------------------------------------
    def predicted_mask_at(self, p) -> Mask | None:
        """What a click at pixel p would accept: the predicted instance on top there (instance
        project) or the connected predicted region (semantic); None where nothing was predicted."""
        ann = self.state.annotation
        if ann is None or ann.prediction is None:
            return None
        if self.instance_mode:
            hit = instance_at(ann.prediction, *p)
            return None if hit is None else hit.mask
        region = ed.predicted_region(ann.prediction, p)
        if region is None:
            return None
        return Mask.from_crop(ann.height, ann.width, region.x0, region.y0, region.pixels)

    def accept_predicted(self, points) -> int:
        """Accept the predicted instances / regions under `points` as ONE undo step; returns how
        many were added (0: nothing there, or already accepted)."""
        ann = self.state.annotation
        if ann is None or ann.prediction is None:
            self.state.status_message.emit("There is no prediction for this image: run a model first.")
            return 0
        if self.state.refuse_read_only():
            return 0
        if self.instance_mode:
            hits = [instance_at(ann.prediction, *p) for p in points]
            ids = [h.id for h in hits if h is not None]
            edit = self._guard(ed.accept_instances, ann.corrected, ann.prediction, ids) if ids else None
            self._record(edit)
            added = [] if edit is None else list(edit.added_ids)
            if added:
                self.set_selection(added)
            count = len(added)
        else:
            self._label_map()
            group = ed.EditGroup(label="Accept region")
            for p in points:
                region = ed.predicted_region(ann.prediction, p)
                if region is not None:
                    group.add(self._guard(ed.accept_region, ann.corrected, region))
            count = len(group)
            self._record(group.finish(ann.corrected))
        if count == 0:
            self.state.status_message.emit("Nothing new to accept here: no prediction under the click, "
                                           "or it is already in the correction.")
        return count

    def apply_refined(self, name: str, refined: list) -> int:
        """Put refined instances (core.refine.apply.refine_instances, computed off the GUI thread) into image
        `name`'s corrected layer as ONE undo step; the number changed. Nothing when the user has moved on to
        another image, and locked or hand-corrected objects are skipped (refine_edit, then the lock guard)."""
        from maskwork.core.refine.apply import refine_edit

        if name != self.state.current_name or self.layer is None or self.state.refuse_read_only():
            return 0
        edit = self._guard(refine_edit, self.layer, refined, "Refine")
        self._record(edit)
        return 0 if edit is None else len(edit.added)

    def apply_refined_map(self, name: str, before, after) -> int:
        """Put a refined label map (core.refine.semantic from `before`, off the GUI thread) into image `name`'s
        corrected layer as ONE undo step; the number of pixels changed. Pixels painted since are kept."""
        from maskwork.core.refine.apply import refine_map_edit

        if name != self.state.current_name or self.layer is None or self.state.refuse_read_only():
            return 0
        edit = self._guard(refine_map_edit, self.layer, before, after, "Refine")
        self._record(edit)
        return 0 if edit is None else int((edit.before != edit.after).sum())
