"""The bar above the canvas while the project is open read-only (another program writes it).

Edits and saves are off then (gui/state.py refuse_read_only, core/store/project_lock.py); the bar says
who holds the project and offers Retry, which opens it for editing once that program let go.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from maskwork.core.store.names import LOCK_FILE


class ReadOnlyBanner(QFrame):
    retry = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ReadOnlyBanner")
        self.setStyleSheet("#ReadOnlyBanner { background: #fff3cd; border-bottom: 1px solid #e0b000; }"
                           "#ReadOnlyBanner QLabel { color: #4d3800; }")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.button = QPushButton("Retry")
        self.button.setToolTip("Open the project for editing if the other program has closed it")
        self.button.clicked.connect(self.retry.emit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button)
        self.hide()

    def show_for(self, project) -> None:
        """Shown for a read-only project, hidden otherwise."""
        if project is None or not getattr(project, "read_only", False):
            self.hide()
            return
        who = project.lock_holder or "another program"
        self.text.setText(f"<b>Read-only:</b> {who} has this project open for writing. You can look at the "
                          "images and masks here, but not edit or save them. Close the project there, then "
                          "press Retry to edit it here.")
        self.setToolTip(f"Lock file: {project.store / LOCK_FILE}. If the program that holds it is really gone "
                        "(its computer was switched off), delete that file and press Retry.")
        self.show()
