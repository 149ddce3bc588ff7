"""The editing controller between tools and core.editing: strokes, fills, polygons, selection,
object operations and "accept prediction", each recorded as ONE undo step (gui/controllers/undo.py).

It holds no pixel logic: every change is a core.editing operation returning an Edit.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

import maskwork.core.editing as ed
from maskwork.core.domain.errors import MaskworkError
from maskwork.core.domain.masks import Mask
from maskwork.core.editing import box_ops
from maskwork.core.editing.shapes import capsule
from maskwork.core.view.render import instance_at
from maskwork.gui.controllers.editor_masks import MaskCommitMixin
from maskwork.gui.controllers.undo import UndoStacks
from maskwork.gui.dialogs import accept_prediction as accept_dialog

MIN_RADIUS, MAX_RADIUS = 1, 500


class Editor(MaskCommitMixin, QObject):  # commit_mask, accept_predicted: gui/controllers/editor_masks.py
    selection_changed = Signal()
    radius_changed = Signal(int)
    error = Signal(object)  # an exception for the window's error dialog
    accepted = Signal()     # "accept prediction" changed the corrected layer (gui/controllers/review.py may advance)

    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.undo = UndoStacks(self)
        self.radius = 8
        self.selected: list[int] = []       # instance ids, in click order (merge keeps the first's class)
        self._stroke: ed.EditGroup | None = None  # core EditGroup while the mouse is down
        self._stroke_instance: int | None = None
        self._erase = False
        self.undo.indexChanged.connect(self._keep_live_selection)  # undo / redo may take selected objects away

    # ---- context ------------------------------------------------------------------------
    @property
    def instance_mode(self) -> bool:
        return self.state.project is not None and self.state.project.task == "instance"

    @property
    def layer(self):
        return None if self.state.annotation is None else self.state.annotation.corrected

    def set_radius(self, radius: int) -> None:
        radius = max(MIN_RADIUS, min(MAX_RADIUS, int(radius)))
        if radius != self.radius:
            self.radius = radius
            self.radius_changed.emit(radius)

    def grow(self, factor: float) -> None:
        """[ and ]: brush size in steps that feel the same at every size."""
        if factor > 1:
            self.set_radius(max(self.radius + 1, round(self.radius * factor)))
        else:
            self.set_radius(min(self.radius - 1, int(self.radius * factor)))

    def stroke_active(self) -> bool:
        """The mouse is down in a brush stroke (a switch to another image waits for its end)."""
        return self._stroke is not None

    def image_switched(self) -> None:
        self._stroke = None
        self.set_selection([])
        self.undo.activate(self.state.current_name)

    def _record(self, edit) -> None:
        """An edit was applied: repaint its box now and make it one undo step."""
        if edit is not None:
            self.undo.push(self.state, edit)
            self.state.notify_edit(edit.bbox)

    def _guard(self, fn, *args):
        try:
            edit = fn(*args)
        except MaskworkError as exc:
            self.error.emit(exc)
            return None
        return self.state.flags.vet(edit, self.layer)  # takes back what it did to locked objects

    def shown_layer(self):
        """The corrected layer without the objects hidden in the Objects panel (for hit tests)."""
        return self.state.flags.visible(self.layer)

    def _label_map(self):
        """The corrected label map, created (all unlabeled) on the first semantic edit."""
        ann = self.state.annotation
        if ann.corrected.label_map is None:
            top = max(self.state.project.classes.ids(), default=0)
            ann.new_label_map(np.uint8 if top <= 255 else np.uint16)
        return ann.corrected.label_map

    # ---- strokes ------------------------------------------------------------------------
    def begin_stroke(self, p, erase: bool) -> None:
        if self.layer is None or self.state.refuse_read_only():
            return
        self._erase = erase
        self._stroke = ed.EditGroup(label="Eraser" if erase else "Brush")
        self._stroke_instance = None
        if self.instance_mode:
            self._stroke_instance = self._stroke_target(p, erase)
            if self._stroke_instance is None:
                self._stroke = None
                return
        else:
            self._label_map()
        self.stroke_to(p, p)

    def _stroke_target(self, p, erase: bool) -> int | None:
        """Instance painted by this stroke: the selected one, the one under the cursor (eraser), or
        a new instance of the current class (brush with nothing selected, or after N)."""
        if len(self.selected) == 1:
            return self.selected[0]
        if erase:
            hit = instance_at(self.shown_layer(), *p)
            if hit is None:
                self.state.status_message.emit("Nothing to erase here: start on an instance or select one (S).")
            return None if hit is None else hit.id
        ann = self.state.annotation
        if ann is None:  # a stroke begins on an open image only
            return None
        h, w = ann.height, ann.width
        win = capsule(p, p, self.radius, h, w)
        if win is None:
            return None
        stroke = self._stroke  # begun just before this is asked: it holds the new instance
        if stroke is None:
            return None
        edit = self._guard(ed.create_instance, self.layer, Mask.from_crop(h, w, *win), self.state.current_class)
        if edit is None:
            return None
        stroke.add(edit)
        self.state.notify_edit(edit.bbox)
        new_id = edit.added_ids[0]
        self.set_selection([new_id])
        return new_id

    def stroke_to(self, p0, p1) -> None:
        if self._stroke is None:
            return
        if self._stroke_instance is not None:
            edit = self._guard(ed.instance_segment, self.layer, self._stroke_instance, p0, p1, self.radius,
                               self._erase)
        elif self._erase:
            edit = self._guard(ed.erase_segment, self.layer, p0, p1, self.radius)
        else:
            edit = self._guard(ed.brush_segment, self.layer, p0, p1, self.radius, self.state.current_class)
        if self._stroke.add(edit) is not None:
            self.state.notify_edit(edit.bbox)  # repaint just this segment

    def end_stroke(self) -> None:
        stroke, self._stroke = self._stroke, None
        if stroke is not None and self.layer is not None:
            if self._stroke_instance is not None:  # an instance erased to nothing goes with its stroke
                removed = stroke.add(ed.remove_empty_instances(self.layer))
                if isinstance(removed, ed.InstancesEdit):  # what remove_empty_instances returns, when any
                    self.state.notify_edit(removed.bbox)
                    self.set_selection([i for i in self.selected if i not in {x.id for _, x in removed.removed}])
            edit = stroke.finish(self.layer)
            if edit is not None:
                self.undo.push(self.state, edit)

    # ---- one-click operations -----------------------------------------------------------
    def fill(self, p) -> None:
        if self.layer is None or self.state.refuse_read_only():
            return
        if self.instance_mode:
            self.state.status_message.emit("Fill paints semantic label maps; in instance mode use the brush.")
            return
        self._label_map()
        self._record(self._guard(ed.flood_fill, self.layer, p, self.state.current_class))

    def polygon(self, points) -> None:
        ann = self.state.annotation  # its corrected layer is self.layer
        if ann is None or self.state.refuse_read_only():
            return
        if self.instance_mode:
            edit = self._guard(ed.polygon_instance, self.layer, points, self.state.current_class,
                               ann.height, ann.width)
            self._record(edit)
            if edit is not None:
                self.set_selection(list(edit.added_ids))
        else:
            self._label_map()
            self._record(self._guard(ed.fill_polygon, self.layer, points, self.state.current_class))

    def add_box(self, p0, p1) -> int | None:
        """A box-only object of the current class between two corner pixels (core/editing/box_ops.py)."""
        ann = self.state.annotation  # its corrected layer is self.layer
        if ann is None or self.state.refuse_read_only():
            return None
        if not self.instance_mode:
            self.state.status_message.emit("Boxes are objects: use them in instance projects.")
            return None
        box = box_ops.box_from_corners(p0, p1, ann.height, ann.width)
        if box is None:
            self.state.status_message.emit("Drag a box at least 2 pixels wide and high.")
            return None
        edit = self._guard(box_ops.create_box_instance, self.layer, box, self.state.current_class,
                           ann.height, ann.width)
        self._record(edit)
        if edit is None:
            return None
        self.set_selection(list(edit.added_ids))
        return edit.added_ids[0]

    # ---- selection and object operations ------------------------------------------------
    def set_selection(self, ids: list[int]) -> None:
        if ids != self.selected:
            self.selected = list(ids)
            self.selection_changed.emit()

    def _keep_live_selection(self, _index: int = 0) -> None:
        """Only ids still in the layer stay selected: a stroke, Del or merge on a vanished one would fail."""
        if self.selected and self.layer is not None:
            ids = {i.id for i in self.layer.instances}
            self.set_selection([i for i in self.selected if i in ids])

    def select_at(self, p, additive: bool = False) -> None:
        hit = instance_at(self.shown_layer(), *p)
        if hit is None:
            self.set_selection(self.selected if additive else [])
        elif additive:
            ids = [i for i in self.selected if i != hit.id] if hit.id in self.selected else self.selected + [hit.id]
            self.set_selection(ids)
        else:
            self.set_selection([hit.id])

    def new_instance(self) -> None:
        """N: the next brush stroke starts a new instance."""
        self.set_selection([])
        self.state.status_message.emit("The next brush stroke draws a new instance.")

    def delete_selected(self) -> None:
        if self.layer is None or not self.selected or self.state.refuse_read_only():
            return
        self._record(self._guard(ed.delete_instances, self.layer, list(self.selected)))
        self.set_selection([])

    def merge_selected(self) -> None:
        if self.layer is None or len(self.selected) < 2:
            self.state.status_message.emit("Select two or more instances (Ctrl+click) to merge them.")
            return
        if self.state.refuse_read_only():
            return
        self._record(self._guard(ed.merge_instances, self.layer, list(self.selected)))
        self.set_selection(self.selected[:1])

    def reclass_selected(self, class_id: int) -> int:
        """Give the selected instances this class (one undo step); the number re-classed."""
        if self.layer is None or not self.selected or not self.instance_mode or self.state.refuse_read_only():
            return 0
        edit = self._guard(ed.set_instance_class, self.layer, list(self.selected), class_id)
        self._record(edit)
        return 0 if edit is None else len(self.selected)

    def accept_prediction(self) -> None:
        ann = self.state.annotation
        if ann is None or ann.prediction is None:
            self.state.status_message.emit("There is no prediction for this image: run a model first.")
            return
        if self.state.refuse_read_only():
            return
        mode = accept_dialog.REPLACE
        if ed.has_corrections(ann.corrected):  # never overwrite corrections without asking
            mode = accept_dialog.ask_accept_mode(self.parent(), self.instance_mode)
        if mode == accept_dialog.CANCEL:
            return
        if mode == accept_dialog.ADD:
            edit = self._guard(ed.accept_unmatched, ann.corrected, ann.prediction)
            if edit is None:
                self.state.status_message.emit("Nothing to add: the corrections already cover the whole prediction.")
        else:
            edit = self._guard(ed.replace_layer, ann.corrected, ann.prediction)  # it copies
        if edit is not None:
            self.undo.push(self.state, edit)
            self.state.notify_edit(None)
        self.set_selection([])
        if edit is not None:
            self.accepted.emit()

    def undo_memory(self) -> int:
        return self.undo.memory()
