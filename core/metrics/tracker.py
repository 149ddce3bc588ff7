"""Live IoU while the user paints: the confusion matrix updated from each edit's window only.

For a window, the old pixels come from the edit's record and the new ones too, so the tracker
never reads the edited map; it reads the other map (a reference, not a copy) in the same window.
Subtracting the window's old confusion and adding its new one costs the window, not the image.

GUI use: update(segment_edit) after each brush segment while the mouse moves (the stroke's
EditGroup.finish() needs no update: the pixels are already counted); on undo/redo of a step,
update(step, undone=True/False); when update() returns False or the image changes, reset().
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from maskwork.core.domain.errors import InputError
from maskwork.core.editing.records import PixelChange
from maskwork.core.metrics.semantic import SemanticScores, confusion_matrix


class WindowEdit(Protocol):
    """What update() reads of an edit (a core.editing Edit, or any record of windows): its label-map
    windows, or None when the map was replaced."""

    def label_map_changes(self) -> list[PixelChange] | None: ...


class ConfusionTracker:
    """Confusion of gt_map vs pred_map kept current while one of them is edited.

    `edited` says which map the user's edits change ("gt": the corrected layer compared against a
    prediction, the usual case in the GUI; or "pred")."""

    def __init__(self, gt_map: np.ndarray, pred_map: np.ndarray, num_classes: int,
                 ignore_index: int | None = None, edited: str = "gt"):
        if edited not in ("gt", "pred"):
            raise InputError(f"edited must be 'gt' or 'pred', not {edited!r}")
        self.num_classes, self.ignore_index, self.edited = int(num_classes), ignore_index, edited
        self.reset(gt_map, pred_map)

    def reset(self, gt_map: np.ndarray, pred_map: np.ndarray) -> None:
        """Recompute from scratch (new image, or a whole layer replaced)."""
        self.gt_map, self.pred_map = gt_map, pred_map
        self.confusion = confusion_matrix(gt_map, pred_map, self.num_classes, self.ignore_index)

    def _window_conf(self, edited_pixels: np.ndarray, other: np.ndarray) -> np.ndarray:
        if self.edited == "gt":
            return confusion_matrix(edited_pixels, other, self.num_classes, self.ignore_index)
        return confusion_matrix(other, edited_pixels, self.num_classes, self.ignore_index)

    def update(self, edit: WindowEdit | None, undone: bool = False) -> bool:
        """Apply an edit just done (or just undone, undone=True). Returns False when the edit cannot
        be followed window by window (the map was replaced): then call reset() with the new maps."""
        if edit is None:
            return True
        changes = edit.label_map_changes()
        if changes is None:
            return False
        other_map = self.pred_map if self.edited == "gt" else self.gt_map
        for x0, y0, before, after in (reversed(changes) if undone else changes):
            if undone:
                before, after = after, before
            h, w = before.shape
            other = other_map[y0 : y0 + h, x0 : x0 + w]
            self.confusion -= self._window_conf(before, other)
            self.confusion += self._window_conf(after, other)
        return True

    def scores(self, class_ids) -> SemanticScores:
        ids = [c for c in class_ids if c != self.ignore_index]
        return SemanticScores.from_confusion(self.confusion, ids)
