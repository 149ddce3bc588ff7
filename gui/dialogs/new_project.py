"""Asked once when a plain folder of images is opened: instance or semantic, and the class names.

One rule for both tasks, shown in the dialog: id 0 is always "background" (unlabeled pixels, no
object) and is added by Maskwork; the names typed get ids 1, 2, 3, ... in order. A class list found beside the
images (classes.json in the folder, its masks/ folder or its parent: the aerial dataset's layout) is offered as
it is, ids, names and colours, for a semantic project; typing other names replaces it.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
)

from maskwork.core.domain.annotation import DEFAULT_COLORS, ClassInfo, ClassList
from maskwork.core.domain.errors import MaskworkError
from maskwork.core.formats import png

BACKGROUND = "background"
DEFAULTS = {"instance": "object", "semantic": "foreground"}


def found_class_list(folder: str) -> tuple[Path, ClassList] | None:
    """The classes.json beside a folder of images, when there is a readable one."""
    for place in (Path(folder), Path(folder) / "masks"):
        sidecar = png.find_classes_sidecar(place)
        if sidecar is not None:
            try:
                classes = png.read_classes_json(sidecar)
            except MaskworkError:
                return None  # a broken one is not offered; importing the masks says what is wrong with it
            if 0 not in classes.ids():  # the one rule: id 0 is the background, whatever the file lists
                classes = ClassList([ClassInfo(0, BACKGROUND, "#000000"), *classes])
            return sidecar, classes
    return None


def _names(classes: ClassList) -> str:
    return ", ".join(c.name for c in classes if c.id != 0)


class NewProjectDialog(QDialog):
    def __init__(self, folder: str, parent=None) -> None:
        super().__init__(parent)
        self.found = found_class_list(folder)
        self.setWindowTitle("New project")
        self.setMinimumWidth(560)  # the fixed "0 background (...)" row reads in full, no side scrolling
        self.task = QComboBox()
        self.task.addItems(["instance", "semantic"])
        self.task.setToolTip("instance: separate objects (nuclei, cars); semantic: a class per pixel (land cover)")
        self.names = QLineEdit(DEFAULTS["instance"])
        self.names.setToolTip("Class names separated by commas; they get ids 1, 2, 3... (0 is the background)")
        self.names.setPlaceholderText("e.g. building, road, water")
        self.task.currentTextChanged.connect(self._task_changed)
        self.preview = QListWidget()
        self.preview.setToolTip("The class list the project gets: id and name")
        self.preview.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.preview.setMaximumHeight(150)
        self.names.textChanged.connect(self._show_ids)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(QLabel(f"Images in {folder}"))
        if self.found is not None:
            form.addRow(QLabel(f"Classes from {self.found[0]}"))
            self.task.setCurrentText("semantic")
            self.names.setText(_names(self.found[1]))
        form.addRow("Task", self.task)
        form.addRow("Classes", self.names)
        form.addRow("Class ids", self.preview)
        form.addRow(buttons)
        self._show_ids()

    def _task_changed(self, task: str) -> None:
        self.names.setText(_names(self.found[1]) if self.found is not None and task == "semantic" else DEFAULTS[task])
        self._show_ids()

    def _show_ids(self) -> None:
        self.preview.clear()
        for c in self.result_value()[1]:
            text = f"{c.id}  {c.name}" + ("  (fixed: unlabeled pixels, no object)" if c.id == 0 else "")
            item = QListWidgetItem(text)
            if c.id == 0:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)  # shown, not editable
            self.preview.addItem(item)

    def result_value(self) -> tuple[str, ClassList]:
        task, text = self.task.currentText(), self.names.text()
        if self.found is not None and task == "semantic" and text == _names(self.found[1]):
            return task, self.found[1].copy()  # the found list as it is: its ids, its class 0's name, its colours
        return task, classes_for(task, text)


def classes_for(task: str, names_text: str) -> ClassList:
    """Both tasks: 0 = background (added here), the typed names are 1..n in order. A typed
    "background" is that same class 0, not a second one."""
    names = [n.strip() for n in names_text.split(",") if n.strip()]
    names = [n for n in dict.fromkeys(names) if n.lower() != BACKGROUND] or [DEFAULTS[task]]
    return ClassList([ClassInfo(0, BACKGROUND, "#000000")] +
                     [ClassInfo(i + 1, n, DEFAULT_COLORS[(i + 1) % len(DEFAULT_COLORS)]) for i, n in enumerate(names)])


def ask_new_project(parent, folder: str) -> tuple[str, ClassList] | None:
    dialog = NewProjectDialog(folder, parent)
    return dialog.result_value() if dialog.exec() == QDialog.DialogCode.Accepted else None
