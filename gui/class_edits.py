"""Class-list edits (add, rename, recolour) as undo steps.

They go on the current image's QUndoStack, the one Edit > Undo works on, so Ctrl+Z undoes them in
the order they were made among the strokes (a project-level stack would need a second Undo whose
order against the strokes is unclear). With no image open there is no stack: the edit is applied
without an undo step. Each apply emits classes_changed, so the session journals the class list
(Project.journal_classes) on every do, undo and redo.
"""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand


class ClassEditCommand(QUndoCommand):
    """`do(classes)` / `undo(classes)` change the project's ClassList in place; pushed already done."""

    def __init__(self, state, text: str, do, undo) -> None:
        super().__init__(text)
        self.state, self._do, self._undo = state, do, undo
        self._done = True

    def _apply(self, fn) -> None:
        p = self.state.project
        if p is not None:
            fn(p.classes)
            self.state.classes_changed.emit()

    def redo(self) -> None:
        if not self._done:
            self._apply(self._do)
            self._done = True

    def undo(self) -> None:
        self._apply(self._undo)
        self._done = False


def push(state, undo_stacks, text: str, do, undo) -> None:
    """Record an already-applied class edit as one step of the current image's undo stack."""
    stack = None if undo_stacks is None else undo_stacks.activeStack()
    if stack is not None and state.current_name is not None:
        stack.push(ClassEditCommand(state, text, do, undo))


def add_steps(state, info):
    """Redo adds the class again with the same id, name and colour; undo removes it and stops
    painting with it (its pixels were made after the add, so their undo steps came first)."""
    def undo(classes):
        classes.remove(info.id)
        if state.current_class == info.id:
            rest = [i for i in classes.ids() if i != 0]
            state.set_current_class(rest[0] if rest else 0)
    return (lambda c: c.add(info.name, info.color, info.id)), undo


def rename_steps(class_id: int, old: str, new: str):
    return (lambda c: c.rename(class_id, new)), (lambda c: c.rename(class_id, old))


def recolour_steps(class_id: int, old: str, new: str):
    return (lambda c: c.recolor(class_id, new)), (lambda c: c.recolor(class_id, old))
