"""Edit shortcuts (Ctrl+Z / Ctrl+Y / Ctrl+Shift+Z) reach the canvas unless a text field is being typed in.

A QLineEdit takes Ctrl+Z for its own text undo even when it merely kept the focus (the image filter
after a search). Rule: a line edit keeps Undo/Redo only while it has text to undo/redo from typing
since it last got the focus; otherwise the window's Undo/Redo actions get the key.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLineEdit


class EditKeysPassThrough(QObject):
    def eventFilter(self, obj, event) -> bool:
        if not isinstance(obj, QLineEdit):
            return False
        if event.type() == QEvent.Type.FocusIn:
            _forget_history(obj)  # typing before the focus left is not "being typed in" now
        elif event.type() == QEvent.Type.ShortcutOverride:
            if event.matches(QKeySequence.StandardKey.Undo) and not obj.isUndoAvailable() or (
                    event.matches(QKeySequence.StandardKey.Redo) or _is_ctrl_y(event)) and not obj.isRedoAvailable():
                event.ignore()  # not ours: the shortcut map then triggers the window's action
                return True
        return False


def _is_ctrl_y(event) -> bool:
    return QKeySequence(event.keyCombination()) == QKeySequence("Ctrl+Y")


def _forget_history(edit: QLineEdit) -> None:
    """setText clears a QLineEdit's undo history; the text, cursor and signals stay as they were."""
    pos = edit.cursorPosition()
    blocked = edit.blockSignals(True)
    edit.setText(edit.text())
    edit.setCursorPosition(pos)
    edit.blockSignals(blocked)


def install(window) -> None:
    """Apply the rule to every line edit of the window (docks included); safe to call again."""
    keeper = getattr(window, "_edit_keys", None) or EditKeysPassThrough(window)
    window._edit_keys = keeper
    for edit in window.findChildren(QLineEdit):
        edit.removeEventFilter(keeper)
        edit.installEventFilter(keeper)
