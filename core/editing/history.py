"""Undo history without Qt: the steps of one image, each an `Edit` record (records.py) that was already
applied to the image's corrected layer, with what a step does beyond the pixels.

Every completed step, undo and redo marks the image corrected (an undo gives back the status it had
before) and goes to the project's crash journal (`project.mark_dirty` + `project.record_edit`), so an
editor built on this, headless or not, is crash-safe without copying those rules. The window's undo
(gui/controllers/undo.py) wraps the same `HistoryStep` in a QUndoCommand; `EditHistory` is the linear stack for code
without Qt. See docs/adr/0018-core-edit-history.md.

The project is passed in, never imported: the project store sits above editing (import layers, ADR 0011).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from maskwork.core.domain.annotation import ImageAnnotation, Status
from maskwork.core.editing.records import BBox, Edit


class JournaledProject(Protocol):
    """What a step needs of core.store.project.Project: the image becomes unsaved and the change is journaled."""

    def mark_dirty(self, name: str) -> None: ...

    def record_edit(self, name: str, bbox: BBox | None = None) -> bool: ...


def journal_step(project: JournaledProject | None, name: str | None, bbox: BBox | None) -> None:
    """Put a completed change of image `name` in the crash journal (on disk within ~1 s)."""
    if project is not None and name is not None:
        project.mark_dirty(name)
        project.record_edit(name, bbox)


class HistoryStep:
    """One undo step: an applied `Edit` of image `name`, and the status the image had before it."""

    def __init__(self, annotation: ImageAnnotation, edit: Edit, name: str) -> None:
        self.annotation, self.edit, self.name = annotation, edit, name
        self.status_before = annotation.status
        annotation.status = Status.CORRECTED  # an edited image is a corrected one
        self.applied = True  # the edit is live on the layer when the step is made

    @property
    def label(self) -> str:
        return getattr(self.edit, "label", "") or "Edit"

    @property
    def nbytes(self) -> int:
        return int(getattr(self.edit, "nbytes", 0))

    def journal(self, project: JournaledProject | None) -> None:
        journal_step(project, self.name, self.edit.bbox)

    def undo(self, project: JournaledProject | None, changed: Callable[[], None] | None = None) -> None:
        """Put the pixels and the status back; `changed` runs before the journal is written (the view)."""
        self.edit.undo(self.annotation.corrected)
        self.annotation.status = self.status_before
        self.applied = False
        self._changed(project, changed)

    def redo(self, project: JournaledProject | None, changed: Callable[[], None] | None = None) -> None:
        """Apply the edit again; nothing happens while it is still applied (a step is made after its edit)."""
        if self.applied:
            return
        self.edit.redo(self.annotation.corrected)
        self.annotation.status = Status.CORRECTED
        self.applied = True
        self._changed(project, changed)

    def _changed(self, project: JournaledProject | None, changed: Callable[[], None] | None) -> None:
        if changed is not None:
            changed()
        self.journal(project)


class EditHistory:
    """The linear undo history of one image of a project.

    push() takes an edit already applied to `annotation.corrected`; a push after undo drops the undone
    steps. mark_saved() remembers the current step as the saved one: `is_clean` tells when undo or redo
    came back to it (the caller may then compare with the saved file, core.store.saved_state, and call
    project.mark_clean)."""

    def __init__(self, project: JournaledProject | None, name: str, annotation: ImageAnnotation) -> None:
        self.project, self.name, self.annotation = project, name, annotation
        self._steps: list[HistoryStep] = []
        self._index = 0        # steps[:index] are applied
        self._clean: int | None = 0  # index of the saved state; None once the steps leading to it are dropped

    def push(self, edit: Edit | None) -> HistoryStep | None:
        """Record an already-applied edit as one undo step (None, e.g. a stroke that changed nothing: no step)."""
        if edit is None:
            return None
        step = HistoryStep(self.annotation, edit, self.name)
        del self._steps[self._index:]
        if self._clean is not None and self._clean > self._index:
            self._clean = None
        self._steps.append(step)
        self._index += 1
        step.journal(self.project)
        return step

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._steps)

    def undo(self) -> bool:
        """Undo the last applied step; False when there is none."""
        if not self.can_undo:
            return False
        self._index -= 1
        self._steps[self._index].undo(self.project)
        return True

    def redo(self) -> bool:
        """Redo the next undone step; False when there is none."""
        if not self.can_redo:
            return False
        self._steps[self._index].redo(self.project)
        self._index += 1
        return True

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def index(self) -> int:
        return self._index

    def mark_saved(self) -> None:
        """Everything in memory is on disk now: the current step is the saved state."""
        self._clean = self._index

    @property
    def is_clean(self) -> bool:
        """The history stands where it stood at the last save."""
        return self._clean == self._index

    def clear(self) -> None:
        """Forget every step (the layer was replaced from outside, e.g. an import)."""
        self._steps.clear()
        self._index = 0
        self._clean = 0

    @property
    def nbytes(self) -> int:
        """Bytes held by the records (bounded by the edited regions)."""
        return sum(step.nbytes for step in self._steps)
