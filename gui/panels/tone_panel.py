"""Image panel: brightness, contrast and gamma for dark images (microscopy), for the eye only.

The sliders change a display copy of the photo (core/view/tone.py through ImageItem.display); the
image data, what models see and the masks never change. Each setting is published as a new frozen
transform, so gui/image_loader.py applies it in its worker when switching to a big image (no stall
on the GUI thread) and the canvas knows whether that picture still has the current setting.
One setting for every image of the session (a microscope run is lit alike): it follows image
switches; Reset puts the photo back as it is.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from maskwork.core.view.tone import Tone, apply_tone, auto_tone


class Knob(NamedTuple):
    field: str
    label: str
    lo: float
    hi: float
    tip: str


SCALE = 100  # slider steps per unit
KNOBS = [
    Knob("brightness", "Brightness", -0.5, 0.5, "Lighter or darker, for the eye only (the image is not changed)"),
    Knob("contrast", "Contrast", 0.2, 4.0, "Spread the grey levels apart (> 1) or together (< 1)"),
    Knob("gamma", "Gamma", 0.2, 4.0, "> 1 lifts the shadows (dark nuclei) without burning the highlights"),
]


class TonePanel(QWidget):
    def __init__(self, state, window) -> None:
        super().__init__(window)
        self.state, self.item = state, window.view.image_item
        self.tone = Tone()
        self._publish()
        self.sliders, self.values = {}, {}
        grid = QGridLayout()
        for row, knob in enumerate(KNOBS):
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(round(knob.lo * SCALE), round(knob.hi * SCALE))
            slider.setValue(round(getattr(self.tone, knob.field) * SCALE))
            slider.setToolTip(knob.tip)
            slider.valueChanged.connect(lambda v, f=knob.field: self._moved(f, v / SCALE))
            value = QLabel()
            value.setMinimumWidth(36)
            grid.addWidget(QLabel(knob.label), row, 0)
            grid.addWidget(slider, row, 1)
            grid.addWidget(value, row, 2)
            self.sliders[knob.field], self.values[knob.field] = slider, value
        self.auto_button = QPushButton("Auto")
        self.auto_button.setToolTip("Stretch this image's darkest and brightest 0.5% to black and white")
        self.auto_button.clicked.connect(self.auto)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Show the image as it is")
        self.reset_button.clicked.connect(lambda: self.set_tone(Tone()))
        buttons = QHBoxLayout()
        buttons.addWidget(self.auto_button)
        buttons.addWidget(self.reset_button)
        column = QVBoxLayout(self)
        column.addLayout(grid)
        column.addLayout(buttons)
        column.addStretch(1)
        self._redraw = QTimer(self)  # a slider drag redraws at most every 40 ms (a 48 MP image takes longer)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(40)
        self._redraw.timeout.connect(self.redraw)
        self._show_values()

    def _publish(self) -> None:
        """The picture's display transform for the tone now: None (the photo as it is) or a new frozen one."""
        self.item.display = None if self.tone.is_identity else partial(apply_tone, tone=self.tone)

    def _moved(self, field: str, value: float) -> None:
        self.tone = self.tone._replace(**{field: value})
        self._publish()
        self._show_values()
        self._redraw.start()

    def _show_values(self) -> None:
        for field, label in self.values.items():
            label.setText(f"{getattr(self.tone, field):.2f}")

    def set_tone(self, tone: Tone) -> None:
        for field, slider in self.sliders.items():
            slider.blockSignals(True)
            slider.setValue(round(getattr(tone, field) * SCALE))
            slider.blockSignals(False)
        self.tone = tone
        self._publish()
        self._show_values()
        self.redraw()

    def auto(self) -> None:
        if self.state.image is not None:
            self.set_tone(auto_tone(self.state.image))

    def redraw(self) -> None:
        if self.state.image is not None:
            self.item.set_image(self.state.image)
