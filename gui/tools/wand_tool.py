"""Magic wand: a click selects the connected region of similar colour (core.interactive "wand");
Shift+click adds a click, right (or Alt) click removes; Ctrl+wheel or the toolbar slider change the
tolerance live."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PySide6.QtCore import Qt

from maskwork.gui.tools.base import pixel
from maskwork.gui.tools.segment_base import SegmentTool, is_negative

STEP = 0.05  # tolerance per wheel notch


class WandTool(SegmentTool):
    name = "wand"
    label = "Wand"
    shortcut = "W"
    kind = "wand"
    commit_label = "Magic wand"
    tooltip = ("Magic wand (W): click a region of similar colour; Shift+click adds, right click removes; "
               "Ctrl+wheel or the Tolerance slider change how far it reaches; Backspace takes back a click; "
               "Enter keeps it, Esc cancels")
    intro = "Wand (W): click a region; Shift+click adds, right click removes, Ctrl+wheel: tolerance."

    def __init__(self, editor, canvas) -> None:
        super().__init__(editor, canvas)
        self._tolerance = 0.5
        # called with the new tolerance (the toolbar slider)
        self.tolerance_listeners: list[Callable[[float], None]] = []

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.PointingHandCursor

    def tolerance(self) -> float:
        return self._tolerance

    def set_tolerance(self, value: float) -> None:
        value = round(min(1.0, max(0.0, float(value))), 2)
        if value == self._tolerance:
            return
        self._tolerance = value
        for listener in self.tolerance_listeners:
            listener(value)
        if self.prompt is not None:  # same clicks, new reach: not a step of its own for Backspace
            self.prompt = dataclasses.replace(self.prompt, tolerance=value)
            self.run()
        self.say(f"Wand tolerance {value:.2f} (0 strict .. 1 loose)")

    def press(self, p, event) -> None:
        x, y = pixel(p)
        negative = is_negative(event)
        add = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if self.prompt is None or not (add or negative):
            if negative:
                self.say("Click the region first (left button); right click then removes parts of it.")
                return
            self.change(self.new_prompt(points=[(x, y, True)]))
            return
        self.change(dataclasses.replace(self.prompt, points=self.prompt.points + [(x, y, not negative)]))

    def wheel(self, event) -> bool:
        if not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            return False
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_tolerance(self._tolerance + STEP * steps)
        return True
