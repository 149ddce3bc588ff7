"""Undo for the canvas: a QUndoCommand per core editing step, one stack per image.

The step itself (core.editing.history.HistoryStep) applies the `Edit` record (bbox + old/new pixels),
sets the image's status and journals every completed step, undo and redo to the project's crash
journal (core.store.journal); this adapter adds only what the window needs: the repaint of the current image.
A command is pushed after its edit was already applied (the user saw the stroke while painting),
so the first redo() that QUndoStack.push calls does nothing. Memory is what the Edits hold: the
edited regions, never whole images.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoCommand, QUndoGroup, QUndoStack

from maskwork.core.editing.history import HistoryStep
from maskwork.gui.class_edits import ClassEditCommand


class EditCommand(QUndoCommand):
    """A core HistoryStep on a QUndoStack (next to the class edits of gui/class_edits.py)."""

    def __init__(self, state, step: HistoryStep) -> None:
        super().__init__(step.label)
        self.state, self.step = state, step

    @property
    def edit(self):
        return self.step.edit

    @property
    def name(self) -> str:
        return self.step.name

    def _repaint(self) -> None:
        if self.state.current_name == self.name:  # another image's stack is never active, but be safe
            self.state.notify_edit(self.edit.bbox)
        elif self.state.project is not None:
            self.state.project.mark_dirty(self.name)

    def redo(self) -> None:
        self.step.redo(self.state.project, self._repaint)

    def undo(self) -> None:
        self.step.undo(self.state.project, self._repaint)

    def nbytes(self) -> int:
        return self.step.nbytes


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
            self.setActiveStack(None)  # type: ignore[arg-type]  # Qt takes nullptr; PySide6's stub says QUndoStack
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
            reason = step.refusal() if isinstance(step, ClassEditCommand) else ""
            if isinstance(step, ClassEditCommand) and reason:
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
        step = HistoryStep(state.annotation, edit, state.current_name)  # the image is corrected now
        stack.push(EditCommand(state, step))
        step.journal(state.project)

    def memory(self) -> int:
        """Bytes held by all undo records (bounded by the edited regions)."""
        total = 0
        for stack in self._stacks.values():
            for i in range(stack.count()):
                cmd = stack.command(i)
                total += cmd.nbytes() if isinstance(cmd, EditCommand) else 0
        return total
