"""Asked once when a plain folder of images is opened: instance or semantic, and the class names."""
from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLineEdit)

from core.annotation import ClassList

DEFAULTS = {"instance": "object", "semantic": "background, foreground"}


class NewProjectDialog(QDialog):
    def __init__(self, folder: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New project")
        self.task = QComboBox()
        self.task.addItems(["instance", "semantic"])
        self.task.setToolTip("instance: separate objects (nuclei, cars); semantic: a class per pixel (land cover)")
        self.names = QLineEdit(DEFAULTS["instance"])
        self.names.setToolTip("Class names separated by commas (semantic: the first is the background)")
        self.task.currentTextChanged.connect(lambda t: self.names.setText(DEFAULTS[t]))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(f"Images in {folder}", None)
        form.addRow("Task", self.task)
        form.addRow("Classes", self.names)
        form.addRow(buttons)

    def result_value(self) -> tuple[str, ClassList]:
        return self.task.currentText(), classes_for(self.task.currentText(), self.names.text())


def classes_for(task: str, names_text: str) -> ClassList:
    """Instance projects get a background class 0 before the named classes (ids 1..n)."""
    names = [n.strip() for n in names_text.split(",") if n.strip()] or ["object"]
    if task == "instance" and names[0] != "background":
        names = ["background"] + names
    return ClassList.from_names(dict.fromkeys(names))


def ask_new_project(parent, folder: str) -> tuple[str, ClassList] | None:
    dialog = NewProjectDialog(folder, parent)
    return dialog.result_value() if dialog.exec() == QDialog.DialogCode.Accepted else None
