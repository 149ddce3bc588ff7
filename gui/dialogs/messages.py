"""Every message box of the main window goes through here (one place to style and to test)."""
from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox

from maskwork.core.domain.errors import MaskworkError
from maskwork.core.domain.text import plural

SAVE, DISCARD, CANCEL = "save", "discard", "cancel"
log = logging.getLogger(__name__)


def show_error(parent, error: BaseException | str, title: str = "Maskwork") -> None:
    """A dialog that says what happened and what to do; unexpected errors add their details.
    What it shows goes to the log file too (core/logs.py), with the traceback when there is one."""
    if isinstance(error, BaseException):
        level = logging.WARNING if isinstance(error, MaskworkError) else logging.ERROR
        log.log(level, "shown to the user: %s: %s", type(error).__name__, error,
                exc_info=(type(error), error, error.__traceback__))
    else:
        log.warning("shown to the user: %s", error)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    if isinstance(error, MaskworkError) or isinstance(error, str):
        box.setText(str(error))
    else:
        box.setText(f"Something went wrong: {type(error).__name__}: {error}\n\n"
                    "Your work is still open; save it, then report this problem.")
    box.exec()


def show_info(parent, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)


def ask_save(parent, names: list[str]) -> str:
    """Save / Discard / Cancel before closing with unsaved work."""
    shown = "\n".join(names[:10]) + (f"\n… and {len(names) - 10} more" if len(names) > 10 else "")
    answer = QMessageBox.question(
        parent, "Unsaved work",
        f"{plural(len(names), 'item')} {'has' if len(names) == 1 else 'have'} unsaved changes:\n{shown}\n\n"
        "Save them before closing?\n"
        "(Discard throws these changes away for good; the saved files stay as they were.)",
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Save)
    return {QMessageBox.StandardButton.Save: SAVE, QMessageBox.StandardButton.Discard: DISCARD}.get(answer, CANCEL)
