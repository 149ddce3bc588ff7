"""Undo for the canvas: a QUndoCommand per core editing `Edit` (bbox + old/new pixels), one stack per image.

A command is pushed after its edit was already applied (the user saw the stroke while painting),
so the first redo() that QUndoStack.push calls does nothing. Memory is what the Edits hold: the
edited regions, never whole images. Every completed step, undo and redo goes to the project's
crash journal (core.journal) here, the one place all of them pass.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoCommand, QUndoGroup, QUndoStack

from maskwork.core.annotation import Status


def journal_edit(state, name: str, bbox) -> None:
    """Put a completed change of image `name` in the crash journal (on disk within ~1 s)."""
    project = state.project
    if project is not None and name is not None:
        project.mark_dirty(name)
        project.record_edit(name, bbox)


class EditCommand(QUndoCommand):
    def __init__(self, state, annotation, edit, name: str, status_before: Status) -> None:
        super().__init__(getattr(edit, "label", "") or "Edit")
        self.state, self.annotation, self.edit, self.name = state, annotation, edit, name
        self.status_before = status_before
        self._applied = True  # the edit is live on the layer when pushed

    def _notify(self) -> None:
        if self.state.current_name == self.name:  # another image's stack is never active, but be safe
            self.state.notify_edit(self.edit.bbox)
        elif self.state.project is not None:
            self.state.project.mark_dirty(self.name)
        journal_edit(self.state, self.name, self.edit.bbox)

    def redo(self) -> None:
        if self._applied:
            return
        self.edit.redo(self.annotation.corrected)
        self.annotation.status = Status.CORRECTED
        self._applied = True
        self._notify()

    def undo(self) -> None:
        self.edit.undo(self.annotation.corrected)
        self.annotation.status = self.status_before
        self._applied = False
        self._notify()

    def nbytes(self) -> int:
        return int(getattr(self.edit, "nbytes", 0))


class UndoStacks(QUndoGroup):
    """One QUndoStack per image, kept while the project is open; the current image's stack is active.
    A save marks every stack clean (QUndoStack.setClean); undo or redo back to that point emits
    clean_reached(image name), and the session checks the image against its saved file."""

    clean_reached = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._stacks: dict[str, QUndoStack] = {}

    def activate(self, name: str | None) -> None:
        if name is None:
            self.setActiveStack(None)
            return
        stack = self._stacks.get(name)
        if stack is None:
            stack = self._stacks[name] = QUndoStack(self)
            stack.cleanChanged.connect(self._stack_clean)  # a bound slot: dropped with this group
        self.setActiveStack(stack)

    def undo(self) -> None:
        """Edit > Undo. A step that cannot be undone now says why in the status bar and stays done
        (undoing "add class" while other images use the class: gui/class_edits.py)."""
        stack = self.activeStack()
        if stack is not None and stack.canUndo():
            step = stack.command(stack.index() - 1)
            reason = step.refusal() if hasattr(step, "refusal") else ""
            if reason:
                step.state.status_message.emit(reason)
                return
        super().undo()

    def _stack_clean(self, clean: bool) -> None:
        stack = self.sender()
        name = next((n for n, s in self._stacks.items() if s is stack), None)
        if clean and name is not None:
            self.clean_reached.emit(name)

    def is_clean(self, name: str) -> bool:
        """The image's undo stack stands where it stood at the last save (no stack: never edited here)."""
        stack = self._stacks.get(name)
        return stack is None or stack.isClean()

    def mark_saved(self) -> None:
        """Everything in memory is on disk now: each image's current step is its saved state."""
        for stack in self._stacks.values():
            stack.setClean()

    def clear_all(self) -> None:
        for stack in self._stacks.values():
            self.removeStack(stack)
            stack.deleteLater()
        self._stacks.clear()

    def forget(self, names) -> None:
        """Drop the history of images whose layer was replaced from outside (import)."""
        for name in names:
            stack = self._stacks.get(name)
            if stack is not None:
                stack.clear()

    def push(self, state, edit) -> None:
        """Record an already-applied edit of the current image as one undo step."""
        if edit is None or state.annotation is None:
            return
        stack = self.activeStack()
        if stack is None:
            self.activate(state.current_name)
            stack = self.activeStack()
        before = state.annotation.status
        state.annotation.status = Status.CORRECTED
        stack.push(EditCommand(state, state.annotation, edit, state.current_name, before))
        journal_edit(state, state.current_name, edit.bbox)

    def memory(self) -> int:
        """Bytes held by all undo records (bounded by the edited regions)."""
        total = 0
        for stack in self._stacks.values():
            for i in range(stack.count()):
                cmd = stack.command(i)
                total += cmd.nbytes() if isinstance(cmd, EditCommand) else 0
        return total
