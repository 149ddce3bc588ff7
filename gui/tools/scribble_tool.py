"""Scribbles: left-drag marks the object, right-drag (or Alt+drag) the background; after each
stroke core.interactive.segment("scribble") turns all strokes so far into the preview."""
from __future__ import annotations

import dataclasses

from maskwork.gui.tools.base import pixel
from maskwork.gui.tools.box_tool import stroke_radius
from maskwork.gui.tools.segment_base import SegmentTool, is_negative


class ScribbleTool(SegmentTool):
    name = "scribble"
    label = "Scribble"
    shortcut = "K"
    kind = "scribble"
    commit_label = "Scribbles"
    tooltip = ("Scribbles (K): drag over the object with the left button and over the background with the right; "
               "the mask follows after each stroke; Backspace removes the last stroke; Enter keeps it, Esc cancels")
    intro = "Scribble (K): left-drag on the object, right-drag on the background."

    def __init__(self, editor, canvas) -> None:
        super().__init__(editor, canvas)
        self._stroke: tuple[list[tuple[int, int]], bool] | None = None  # points, positive

    def press(self, p, event) -> None:
        self._stroke = ([pixel(p)], not is_negative(event))
        self.redraw_prompt()

    def move(self, p, event) -> None:
        if self._stroke is None:
            return
        q = pixel(p)
        if q != self._stroke[0][-1]:
            self._stroke[0].append(q)
            self.redraw_prompt()

    def release(self, p, event) -> None:
        if self._stroke is None:
            return
        self.move(p, event)
        points, positive = self._stroke
        self._stroke = None
        from maskwork.core.interactive.prompt import Stroke

        prompt = self.prompt if self.prompt is not None else self.new_prompt()
        stroke = Stroke(points, positive, stroke_radius(self.canvas))
        new = dataclasses.replace(prompt, strokes=prompt.strokes + [stroke])
        if not new.has_positive:  # background alone says nothing about the object yet
            if self.prompt is not None:
                self._history.append(self.prompt)
            self.prompt, self.mask = new, None
            self.redraw()
            self.say("Now scribble on the object with the left button.")
            return
        self.change(new)

    def prompt_parts(self) -> dict | None:
        parts = super().prompt_parts()
        if self._stroke is None:
            return parts
        parts = parts or {"strokes": []}
        parts["strokes"] = parts["strokes"] + [self._stroke]
        return parts

    def cancel(self) -> None:
        self._stroke = None
        super().cancel()
