"""Edge-snapping outline (intelligent scissors): each click adds a vertex, and the segment from the
previous one follows image edges (core.interactive.snap_path). The segment to the cursor is
previewed live, throttled so a fast mouse asks for at most one path per THROTTLE_MS. Enter or a
double-click closes the outline (the closing segment snaps too) and commits the area inside."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer

from maskwork.core.domain.errors import MaskworkError
from maskwork.gui.tools.base import pixel
from maskwork.gui.tools.segment_base import PreviewTool

THROTTLE_MS = 30


class ScissorsTool(PreviewTool):
    name = "scissors"
    label = "Scissors"
    shortcut = "I"
    commit_label = "Scissors"
    tooltip = ("Edge-snapping outline (I): click around an object; each segment follows the edges between "
               "clicks; Enter or double-click closes it, Backspace removes a point, Esc cancels")
    intro = "Scissors (I): click around the object, the outline snaps to edges; double-click closes."

    def __init__(self, editor, canvas) -> None:
        super().__init__(editor, canvas)
        self.vertices: list[tuple[int, int]] = []
        self.segments: list[list[tuple[int, int]]] = []  # segments[k] joins vertices[k] and vertices[k + 1]
        self.live: list[tuple[int, int]] = []            # last vertex -> cursor
        self._hover: tuple[int, int] | None = None
        self._timer = QTimer(canvas)
        self._timer.setSingleShot(True)
        self._timer.setInterval(THROTTLE_MS)
        self._timer.timeout.connect(self._follow_cursor)

    @property
    def active(self) -> bool:
        return bool(self.vertices)

    def _clamp(self, p) -> tuple[int, int] | None:
        ann = self.state.annotation
        if ann is None or self.state.image is None:
            return None
        x, y = pixel(p)
        return min(max(x, 0), ann.width - 1), min(max(y, 0), ann.height - 1)

    def _snap(self, a, b) -> list[tuple[int, int]]:
        from maskwork.core.interactive import snap_path

        try:
            return [(int(q[0]), int(q[1])) for q in snap_path(self.state.image, a, b)]
        except MaskworkError as exc:
            self.say(str(exc))
            return [a, b]

    # ---- gestures -------------------------------------------------------------------------------
    def press(self, p, event) -> None:
        q = self._clamp(p)
        if q is None or event.button() != Qt.MouseButton.LeftButton or (self.vertices and q == self.vertices[-1]):
            return
        if self.vertices:
            self.segments.append(self._snap(self.vertices[-1], q))
        self.vertices.append(q)
        self.live = []
        self.redraw()

    def move(self, p, event) -> None:
        if self.vertices:
            self._hover = self._clamp(p)
            if not self._timer.isActive():
                self._timer.start()

    def _follow_cursor(self) -> None:
        if self.vertices and self._hover is not None and self._hover != self.vertices[-1]:
            self.live = self._snap(self.vertices[-1], self._hover)
            self.redraw()

    def outline(self) -> list[tuple[int, int]]:
        """The vertices joined by their snapped segments (each shared end once)."""
        out = list(self.vertices[:1])
        for seg in self.segments:
            out += seg[1:]
        return out

    def commit(self, mode: str) -> None:
        if len(self.vertices) < 2:
            self.say("Click at least three points around the object before closing the outline.")
            return
        closing = self._snap(self.vertices[-1], self.vertices[0])
        polygon = self.outline() + closing[1:-1]
        if len(set(polygon)) < 3:
            self.say("The outline encloses nothing yet: click more points around the object.")
            return
        if self.editor.commit_polygon(polygon, mode, self.commit_label):
            self.cancel()

    def pop(self) -> bool:
        if not self.vertices:
            return False
        self.vertices.pop()
        if self.segments:
            self.segments.pop()
        self.live = []
        if self.vertices:
            self.redraw()
        else:
            self.cancel()
        return True

    def redraw(self) -> None:
        if not self.vertices:
            if self._preview is not None:
                self._preview.clear()
            return
        path = self.outline() + self.live[1:]
        self.preview.show_prompt(points=[(x, y, True) for x, y in self.vertices], path=path,
                                 fill_rgb=self.class_rgb(), closed=len(self.vertices) > 2)

    def cancel(self) -> None:
        self._timer.stop()
        self.vertices, self.segments, self.live, self._hover = [], [], [], None
        if self._preview is not None:
            self._preview.clear()
