"""Class list with colour swatches: pick (click or keys 1-9), add, rename, recolour."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from maskwork.gui import class_edits
from maskwork.gui.class_keys import digit_classes


def swatch(color: str, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(color))
    return QIcon(pix)


class ClassesPanel(QWidget):
    def __init__(self, state, parent=None, undo=None) -> None:
        super().__init__(parent)
        self.state = state
        self.undo = undo  # gui/undo.UndoStacks: add/rename/recolour are undo steps (gui/class_edits.py)
        self.list = QListWidget()
        self.list.setToolTip("Classes: click or press 1-9 to paint with a class; double-click to rename")
        self.list.currentItemChanged.connect(self._picked)
        self.list.itemDoubleClicked.connect(lambda _item: self.rename())
        buttons = QHBoxLayout()
        for text, tip, slot in (("Add", "Add a new class", self.add),
                                ("Rename", "Rename the selected class", self.rename),
                                ("Colour", "Change the colour of the selected class", self.recolour)):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        state.project_changed.connect(self.reload)
        state.classes_changed.connect(self.reload)
        state.current_class_changed.connect(self._follow)

    @property
    def classes(self):
        return self.state.project.classes if self.state.project is not None else None

    def reload(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        keys = {cid: digit for digit, cid in digit_classes(self.classes).items()}
        for c in self.classes or []:
            key = f"{keys[c.id]}  " if c.id in keys else "   "
            item = QListWidgetItem(swatch(c.color), f"{key}{c.name}")
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            item.setToolTip(f"class id {c.id}: {c.name} ({c.color})" + (f"; key {keys[c.id]}" if c.id in keys else ""))
            self.list.addItem(item)
        self.list.blockSignals(False)
        self._follow(self.state.current_class)

    def _follow(self, class_id: int) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == class_id:
                self.list.blockSignals(True)
                self.list.setCurrentRow(i)
                self.list.blockSignals(False)

    def _picked(self, item, _prev) -> None:
        if item is not None:
            self.state.set_current_class(int(item.data(Qt.ItemDataRole.UserRole)))

    def _selected_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    # The dialogs are separate methods so tests (and scripts) can call the edits directly.
    def add(self) -> None:
        if self.classes is None or self.state.refuse_read_only():
            return
        name, ok = QInputDialog.getText(self, "Add class", "Name of the new class:")
        if ok and name.strip():
            self.add_class(name.strip())

    def add_class(self, name: str, color: str | None = None) -> None:
        if self.state.refuse_read_only():
            return
        try:
            info = self.classes.add(name, color)
        except ValueError as exc:
            self.state.status_message.emit(str(exc))
            return
        self.state.classes_changed.emit()
        class_edits.push(self.state, self.undo, f"Add class {info.name}", *class_edits.add_steps(self.state, info))
        self.state.set_current_class(info.id)

    def rename(self) -> None:
        cid = self._selected_id()
        if cid is None or self.state.refuse_read_only():
            return
        name, ok = QInputDialog.getText(self, "Rename class", "New name:", text=self.classes.get(cid).name)
        if ok and name.strip():
            self.rename_class(cid, name.strip())

    def rename_class(self, class_id: int, name: str) -> None:
        if self.state.refuse_read_only():
            return
        old = self.classes.get(class_id).name
        try:
            self.classes.rename(class_id, name)
        except ValueError as exc:
            self.state.status_message.emit(str(exc))
            return
        self.state.classes_changed.emit()
        if name != old:
            class_edits.push(self.state, self.undo, f"Rename class {old} to {name}",
                             *class_edits.rename_steps(class_id, old, name))

    def recolour(self) -> None:
        cid = self._selected_id()
        if cid is None or self.state.refuse_read_only():
            return
        colour = QColorDialog.getColor(QColor(self.classes.get(cid).color), self, "Class colour")
        if colour.isValid():
            self.recolour_class(cid, colour.name())

    def recolour_class(self, class_id: int, color: str) -> None:
        if self.state.refuse_read_only():
            return
        old = self.classes.get(class_id).color
        self.classes.recolor(class_id, color)
        self.state.classes_changed.emit()
        if self.classes.get(class_id).color != old:
            class_edits.push(self.state, self.undo, f"Recolour class {self.classes.get(class_id).name}",
                             *class_edits.recolour_steps(class_id, old, self.classes.get(class_id).color))
