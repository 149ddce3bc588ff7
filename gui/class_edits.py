"""Class-list edits (add, rename, recolour) as undo steps.

They go on the current image's QUndoStack, the one Edit > Undo works on, so Ctrl+Z undoes them in
the order they were made among the strokes (a project-level stack would need a second Undo whose
order against the strokes is unclear). With no image open there is no stack: the edit is applied
without an undo step. Each apply emits classes_changed, so the session journals the class list
(Project.journal_classes) on every do, undo and redo.
"""
from __future__ import annotations

import time

from PySide6.QtGui import QUndoCommand

from maskwork.core.domain.class_uses import images_using_class
from maskwork.core.domain.text import plural

CLOCK_SLACK_NS = 1_000_000_000  # file times may lag the clock by a tick: look a little further back


class ClassEditCommand(QUndoCommand):
    """`do(classes)` / `undo(classes)` change the project's ClassList in place; pushed already done."""

    def __init__(self, state, text: str, do, undo, blocker=None) -> None:
        super().__init__(text)
        self.state, self._do, self._undo = state, do, undo
        self.blocker = blocker  # () -> why this step cannot be undone now ("" when it can)
        self._done = True
        self._kept = False      # undone while blocked (not through Edit > Undo): the class stayed

    def _apply(self, fn) -> None:
        p = self.state.project
        if p is not None:
            fn(p.classes)
            self.state.classes_changed.emit()

    def refusal(self) -> str:
        """Why undoing this step now would break the project ("" when it would not)."""
        return self.blocker() if self.blocker is not None else ""

    def redo(self) -> None:
        if not self._done:
            if not self._kept:
                self._apply(self._do)
            self._done, self._kept = True, False

    def undo(self) -> None:
        reason = self.refusal()
        if reason:  # Edit > Undo asks first (UndoStacks.undo); any other path keeps the labels valid
            self._kept = True
            self.state.status_message.emit(reason)
        else:
            self._apply(self._undo)
        self._done = False


def push(state, undo_stacks, text: str, do, undo, blocker=None) -> None:
    """Record an already-applied class edit as one step of the current image's undo stack."""
    stack = None if undo_stacks is None else undo_stacks.activeStack()
    if stack is not None and state.current_name is not None:
        stack.push(ClassEditCommand(state, text, do, undo, blocker))


def add_steps(state, info):
    """Redo adds the class again with the same id, name and colour; undo removes it and stops
    painting with it. Its uses on this image were made after the add, so their undo steps come
    first; uses on other images would be left naming a class that is gone (a save refuses them),
    so then the undo is refused with a message saying where (the blocker)."""
    added_ns = time.time_ns() - CLOCK_SLACK_NS

    def undo(classes):
        classes.remove(info.id)
        if state.current_class == info.id:
            rest = [i for i in classes.ids() if i != 0]
            state.set_current_class(rest[0] if rest else 0)

    def blocker() -> str:
        project = state.project
        used = [] if project is None else images_using_class(project, info.id, added_ns)
        if not used:
            return ""
        shown = ", ".join(used[:3]) + (f" and {len(used) - 3} more" if len(used) > 3 else "")
        return (f"Class {info.name} was not removed: {plural(len(used), 'image')} use{'s' if len(used) == 1 else ''} "
                f"it ({shown}). Undo or erase those labels there first, or keep the class.")
    return (lambda c: c.add(info.name, info.color, info.id)), undo, blocker


def rename_steps(class_id: int, old: str, new: str):
    return (lambda c: c.rename(class_id, new)), (lambda c: c.rename(class_id, old))


def recolour_steps(class_id: int, old: str, new: str):
    return (lambda c: c.recolor(class_id, new)), (lambda c: c.recolor(class_id, old))
