"""Asked before "Accept prediction" would overwrite corrections: replace, add what is missing, or cancel."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

REPLACE, ADD, CANCEL = "replace", "add", "cancel"


def ask_accept_mode(parent, instance_mode: bool) -> str:
    """REPLACE, ADD or CANCEL (Esc / closing the box cancels)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Accept prediction")
    box.setText("This image already has corrections. Replace them with the prediction, or keep them and "
                "add only what they lack?")
    box.setInformativeText(
        "Add unmatched adds the predicted objects that overlap no corrected object (IoU below 0.5)."
        if instance_mode else "Add unmatched gives the prediction only to pixels that are still unlabeled.")
    replace = box.addButton("Replace corrections", QMessageBox.ButtonRole.DestructiveRole)
    add = box.addButton("Add unmatched", QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(add)  # the choice that loses nothing
    box.setEscapeButton(cancel)
    box.exec()
    return {id(replace): REPLACE, id(add): ADD}.get(id(box.clickedButton()), CANCEL)
