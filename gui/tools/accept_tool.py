"""Accept what the model already found: click a predicted instance (instance project) or a predicted
region (semantic: its connected component) to copy just that into the correction, one undo step.
Shift+click collects several (highlighted; Shift+click again drops one), Enter accepts them all as
one step, Esc forgets them."""
from __future__ import annotations

from PySide6.QtCore import Qt

from maskwork.core.domain.masks import Mask
from maskwork.gui.tools.base import pixel
from maskwork.gui.tools.segment_base import PreviewTool

HIGHLIGHT = (255, 255, 0)  # collected predictions: not a class colour, they keep their own class


class AcceptTool(PreviewTool):
    name = "accept"
    label = "Accept"
    shortcut = "Y"
    tooltip = ("Accept predicted (Y): click a predicted instance or region to keep just that one; "
               "Shift+click collects several, Enter keeps them, Esc cancels")
    hint = ("Accept (Y): click a predicted instance or region to keep it in the correction; Shift+click "
            "collects several, Enter keeps them all, Esc cancels.")

    def __init__(self, editor, canvas) -> None:
        super().__init__(editor, canvas)
        self.picked: list[tuple[tuple[int, int], Mask]] = []  # (click, predicted Mask)

    @property
    def active(self) -> bool:
        return bool(self.picked)

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.PointingHandCursor

    def press(self, p, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        q = pixel(p)
        if not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.commit("new", extra=[q])
            return
        for k, (_, mask) in enumerate(self.picked):
            if _covers(mask, q):  # a second Shift+click drops it again
                del self.picked[k]
                self.redraw()
                return
        mask = self.editor.predicted_mask_at(q)
        if mask is None:
            self.say("No prediction under the click (run a model first, or click inside a predicted shape).")
            return
        self.picked.append((q, mask))
        self.redraw()
        self.say(f"{len(self.picked)} collected: Enter accepts them, Esc cancels.")

    def commit(self, mode: str, extra=()) -> None:
        points = [q for q, _ in self.picked] + list(extra)
        self.cancel()
        n = self.editor.accept_predicted(points)
        if n:
            self.say(f"Accepted {n} predicted {'instance' if self.editor.instance_mode else 'region'}"
                     f"{'s' if n > 1 else ''} (Ctrl+Z undoes).")

    def redraw(self) -> None:
        if self.picked or self._preview is not None:
            self.preview.show_masks([m for _, m in self.picked], HIGHLIGHT)

    def cancel(self) -> None:
        self.picked = []
        if self._preview is not None:
            self._preview.clear()


def _covers(mask, q) -> bool:
    x, y = q
    return mask.x0 <= x < mask.x1 and mask.y0 <= y < mask.y1 and bool(mask.crop[y - mask.y0, x - mask.x0])
