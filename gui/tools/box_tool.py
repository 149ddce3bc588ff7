"""Box to mask (GrabCut): drag a box around an object, then refine with clicks (left adds, right or
Alt+left removes) or strokes (drag); each gesture re-runs core.interactive.segment("grabcut").

With one object selected (a model's, accepted, or one just made), a click without a box fixes that object
instead: core.interactive.segment("fix") re-cuts it from its mask around each click, and Enter makes the result
its mask as one undo step."""
from __future__ import annotations

import dataclasses

from PySide6.QtCore import QPointF

from maskwork.gui.tools.base import pixel
from maskwork.gui.tools.segment_base import CLICK_SLOP, SegmentTool, is_negative


def stroke_radius(canvas) -> int:
    """Stroke half-width in image pixels: about what the 3-pixel line on screen covers."""
    return max(3, round(2 / max(canvas.zoom(), 1e-6)))


class BoxTool(SegmentTool):
    name = "box"
    label = "Box to mask"
    shortcut = "G"
    kind = "grabcut"
    commit_label = "Box to mask"
    tooltip = ("Box to mask (G): drag a box around an object to get its mask; then left click or drag adds, "
               "right click or drag removes; Backspace takes back the last one; Enter keeps it, Esc cancels. "
               "With one object selected, clicks fix it: left where it is missing, right where it is too much")
    intro = ("Box to mask (G): drag a box around the object; left/right clicks or drags add/remove. With one "
             "object selected, clicks fix it.")

    def __init__(self, editor, canvas) -> None:
        super().__init__(editor, canvas)
        # (viewport position, image pixel, negative) while a button is down
        self._down: tuple[QPointF, tuple[int, int], bool] | None = None
        self._drag: list[tuple[int, int]] = []
        self._fixing: int | None = None  # id of the selected object the clicks fix, or None (a new box)

    def press(self, p, event) -> None:
        self._down = (event.position(), pixel(p), is_negative(event))
        self._drag = [pixel(p)]

    def move(self, p, event) -> None:
        if self._down is None:
            return
        q = pixel(p)
        if q != self._drag[-1]:
            self._drag.append(q)
            self.redraw_prompt()

    def release(self, p, event) -> None:
        if self._down is None:
            return
        start_view, start, negative = self._down
        end = pixel(p)
        drag = self._drag + ([end] if end != self._drag[-1] else [])
        self._down, self._drag = None, []
        moved = (event.position() - start_view).manhattanLength() > CLICK_SLOP
        if self.prompt is None and not moved and self._start_fix(start, not negative):
            return
        if self.prompt is None:
            if negative or not moved:
                self.say("Drag a box around the object first (left button), then refine it with clicks; or "
                         "select one object (S) and click here to fix it.")
                self.redraw_prompt()
                return
            box = (min(start[0], end[0]), min(start[1], end[1]), max(start[0], end[0]) + 1, max(start[1], end[1]) + 1)
            self.change(self.new_prompt(box=box))
        elif not moved or self._fixing is not None:  # a drag while fixing counts as a click where it ends
            if self._fixing is not None:
                start = end
            self.change(dataclasses.replace(self.prompt, points=self.prompt.points + [(*start, not negative)]))
        else:
            from maskwork.core.interactive.prompt import Stroke

            stroke = Stroke(drag, positive=not negative, radius=stroke_radius(self.canvas))
            self.change(dataclasses.replace(self.prompt, strokes=self.prompt.strokes + [stroke]))

    def _start_fix(self, at: tuple[int, int], positive: bool) -> bool:
        """Begin fixing the one selected object with a click at `at`; False when no single object is selected."""
        editor = self.editor
        layer = editor.layer
        if not editor.instance_mode or layer is None or len(editor.selected) != 1:
            return False
        target = next((i for i in layer.instances if i.id == editor.selected[0]), None)
        if target is None or target.mask.is_empty:
            return False
        self._fixing, self.kind = target.id, "fix"
        self.change(self.new_prompt(mask=target.mask, points=[(*at, positive)]))
        self.say(f"Fixing object {target.id}: left click where it is missing, right click where it is too much; "
                 "Enter keeps, Backspace takes the last click back, Esc leaves it as it was.")
        return True

    def commit(self, mode: str) -> None:
        if self._fixing is None:
            super().commit(mode)
            return
        if self.deferred(mode):
            return
        if self.mask is not None and self.editor.commit_fixed(self._fixing, self.mask):
            self.cancel()

    def prompt_parts(self) -> dict | None:
        parts = super().prompt_parts()
        if self._down is None or len(self._drag) < 2:
            return parts
        _, start, negative = self._down
        if parts is None:  # the rubber band of the first box
            end = self._drag[-1]
            return {"box": (min(start[0], end[0]), min(start[1], end[1]), max(start[0], end[0]) + 1,
                            max(start[1], end[1]) + 1)}
        parts["strokes"] = parts["strokes"] + [(self._drag, not negative)]
        return parts

    def cancel(self) -> None:
        self._down, self._drag = None, []
        self._fixing, self.kind = None, type(self).kind
        super().cancel()
