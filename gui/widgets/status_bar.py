"""Status bar: unsaved state, cursor x,y, class under the cursor, zoom %."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar

from maskwork.core.view.render import class_at


class StatusBar(QStatusBar):
    def __init__(self, state, session, binding, parent=None) -> None:
        super().__init__(parent)
        self.state, self.session, self.binding = state, session, binding
        self.unsaved = QLabel()
        self.position = QLabel("x —, y —")
        self.klass = QLabel("")
        self.zoom = QLabel("100%")
        for label, tip, width in ((self.unsaved, "Saved or unsaved work (Ctrl+S saves)", 120),
                                  (self.position, "Image pixel under the cursor", 120),
                                  (self.klass, "Class under the cursor", 160),
                                  (self.zoom, "Zoom (wheel zooms around the cursor)", 60)):
            label.setToolTip(tip)
            label.setMinimumWidth(width)
            self.addPermanentWidget(label)
        state.status_message.connect(lambda text: self.showMessage(text, 6000))
        session.title_changed.connect(self.refresh_unsaved)
        # what was under the cursor belongs to the old image: forget it until the cursor moves again
        state.project_changed.connect(self.clear_cursor)
        state.image_changed.connect(self.clear_cursor)
        self.refresh_unsaved()

    def clear_cursor(self, *_) -> None:
        self.position.setText("x —, y —")
        self.klass.setText("")

    def refresh_unsaved(self) -> None:
        n = len(self.session.unsaved())
        self.unsaved.setText(f"● {n} unsaved" if n else "✓ saved")
        self.unsaved.setStyleSheet("color: #e08000;" if n else "color: #4caf50;")

    def on_cursor(self, x: int, y: int) -> None:
        ann = self.state.annotation
        if ann is None or not (0 <= x < ann.width and 0 <= y < ann.height):
            self.clear_cursor()
            return
        self.position.setText(f"x {x}, y {y}")
        cid = class_at(self.binding.shown_layer(), x, y)
        name = ""
        if cid is not None and self.state.project is not None:
            try:
                name = self.state.project.classes.get(cid).name
            except KeyError:
                name = f"class {cid}"
        self.klass.setText(name)

    def on_zoom(self, zoom: float) -> None:
        self.zoom.setText(f"{zoom * 100:.0f}%")
