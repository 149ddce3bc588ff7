"""Help > Shortcuts: every action of the window with its shortcut, read from the actions themselves."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout

EXTRA = [  # gestures that are not QActions
    ("Canvas", "Mouse wheel", "Zoom around the cursor"),
    ("Canvas", "Middle drag / Space + drag", "Pan"),
    ("Brush", "Right drag", "Erase with the brush"),
    ("Polygon", "Double-click / Enter", "Close the polygon"),
    ("Polygon", "Esc / Backspace", "Cancel / remove the last point"),
    ("Select", "Ctrl+click", "Add to the selection"),
]


def shortcut_rows(actions) -> list[tuple[str, str, str]]:
    rows = []
    for group, action in actions:
        keys = ", ".join(s.toString() for s in action.shortcuts())
        if keys:
            rows.append((group, keys, action.text().replace("&", "")))
    return rows + EXTRA


class ShortcutsDialog(QDialog):
    def __init__(self, actions, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 600)
        rows = shortcut_rows(actions)
        table = QTableWidget(len(rows), 3)
        table.setHorizontalHeaderLabels(["Menu", "Keys", "Action"])
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                table.setItem(r, c, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        table.verticalHeader().hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.table = table
