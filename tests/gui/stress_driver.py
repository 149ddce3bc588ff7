"""Seeded random hands on the main window (issue 18): real Qt mouse, wheel and key events on the canvas
viewport, as a user makes them, in whatever tool is picked. Long strokes (hundreds of moves), short drags,
clicks, double-clicks, hovering, wheel (plain and Ctrl), shortcuts, tool switches in the middle of a
stroke, image switches, pans and undo/redo bursts.

Every event it sends is logged (the last LOG_SIZE are kept) so a failure names the seed, the tool and
what the hand did just before. Shortcuts that open a dialog (File menu, Preferences, F1, Quit, Save) are
never pressed here; the one question a safe shortcut can ask (Ctrl+Enter over corrections) is answered
by a seeded choice in test_stress_tools.py. Used by tests/gui/test_stress_tools.py.
"""
from __future__ import annotations

import random
from collections import deque

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QKeySequence, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from maskwork.gui.tools import TOOLS

LEFT, RIGHT, MIDDLE = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton
K, M = Qt.Key, Qt.KeyboardModifier
NONE, SHIFT, CTRL, ALT = M.NoModifier, M.ShiftModifier, M.ControlModifier, M.AltModifier
LONG_STROKE = 500  # moves (at least) of the one long stroke every burst makes (the crash took thousands of calls)
LOG_SIZE = 60

# Keys a hand may press on the canvas that open no dialog: classes, brush size, instance actions, the
# preview tools' Enter/Esc/Backspace/Tab, view toggles, zoom, opacity. (Ctrl+Enter: see the module doc.)
SAFE_KEYS = [(getattr(K, f"Key_{d}"), NONE) for d in range(1, 10)] + [
    (K.Key_BracketLeft, NONE), (K.Key_BracketRight, NONE), (K.Key_N, NONE), (K.Key_M, NONE),
    (K.Key_Delete, NONE), (K.Key_Backspace, NONE), (K.Key_Return, NONE), (K.Key_Return, SHIFT),
    (K.Key_Return, CTRL), (K.Key_Enter, NONE), (K.Key_Escape, NONE), (K.Key_Tab, NONE), (K.Key_Backtab, SHIFT),
    (K.Key_O, NONE), (K.Key_O, SHIFT), (K.Key_P, SHIFT), (K.Key_C, SHIFT), (K.Key_B, SHIFT), (K.Key_L, SHIFT),
    (K.Key_0, CTRL), (K.Key_1, CTRL), (K.Key_Equal, CTRL), (K.Key_Minus, CTRL),
]
UNDO, REDO, REDO_SHIFT = (K.Key_Z, CTRL), (K.Key_Y, CTRL), (K.Key_Z, CTRL | SHIFT)


def tool_names(task: str) -> list[str]:
    """Every toolbar tool the task offers, from the tool table (a tool added later is stressed too)."""
    return [cls.name for cls, semantic, instance in TOOLS if (instance if task == "instance" else semantic)]


def shortcut_key(shortcut: str) -> tuple[Qt.Key, Qt.KeyboardModifier]:
    combo = QKeySequence(shortcut)[0]
    return combo.key(), combo.keyboardModifiers()


class StressDriver:
    """Sends random gestures to `window`'s canvas; `rng` makes the sequence repeatable."""

    def __init__(self, qtbot, window, rng: random.Random, long_extra: int = 200) -> None:
        self.qtbot, self.win, self.rng = qtbot, window, rng
        self.long_extra = long_extra  # the long stroke makes LONG_STROKE to LONG_STROKE + long_extra moves
        self.count = None             # a probe to call around the long stroke's moves (see long_stroke)
        self.long_strokes: list[tuple[int, int, int]] = []  # (moves, probe before, probe after)
        self.log: deque[str] = deque(maxlen=LOG_SIZE)
        self.events = 0          # Qt events sent (each mouse move counts)
        self.tool = "pan"
        self._pos = QPoint(10, 10)
        self._held: tuple[Qt.MouseButton, Qt.KeyboardModifier] | None = None

    # ---- low-level events -------------------------------------------------------------------------
    @property
    def vp(self):
        return self.win.view.viewport()

    def _note(self, text: str) -> None:
        self.log.append(f"[{self.tool}] {text}")

    def press(self, pos: QPoint, button=LEFT, mods=NONE) -> None:
        self._note(f"press {button.name} {mods.name} at {pos.x()},{pos.y()}")
        self.qtbot.mousePress(self.vp, button, mods, pos)
        self._pos, self._held = pos, (button, mods)
        self.events += 1

    def move(self, pos: QPoint) -> None:
        """A mouse move with the held button (QTest keeps the button state between press and release)."""
        self.qtbot.mouseMove(self.vp, pos)
        self._pos = pos
        self.events += 1

    def release(self, pos: QPoint | None = None) -> None:
        if self._held is None:
            return
        button, mods = self._held
        pos = self._pos if pos is None else pos
        self._note(f"release {button.name} at {pos.x()},{pos.y()}")
        self.qtbot.mouseRelease(self.vp, button, mods, pos)
        self._held = None
        self.events += 1

    def hover(self, pos: QPoint) -> None:
        """A move with no button, sent to the viewport (QTest's goes through the platform cursor)."""
        event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(self.vp.mapToGlobal(pos)),
                            Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, NONE)
        QApplication.sendEvent(self.vp, event)
        self._pos = pos
        self.events += 1

    def key(self, key, mods=NONE) -> None:
        self._note(f"key {QKeySequence(key | mods).toString() or key}")
        self.qtbot.keyClick(self.win.view, key, mods)  # through the shortcut map, as a real key press
        self.events += 1

    def wheel(self, pos: QPoint, notches: int, mods=NONE) -> None:
        self._note(f"wheel {notches:+d} {mods.name} at {pos.x()},{pos.y()}")
        event = QWheelEvent(QPointF(pos), QPointF(self.vp.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120 * notches),
                            Qt.MouseButton.NoButton, mods, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(self.vp, event)
        self.events += 1

    def pick_tool(self, name: str) -> None:
        """The tool's own shortcut (from its class), as a user switches tools."""
        self._note(f"tool {name}")
        self.qtbot.keyClick(self.win.view, *shortcut_key(self.win.toolbar.tools[name].shortcut))
        self.events += 1

    # ---- where the hand goes ----------------------------------------------------------------------
    def random_point(self) -> QPoint:
        r = self.vp.rect()
        return QPoint(self.rng.randint(2, r.width() - 3), self.rng.randint(2, r.height() - 3))

    def object_point(self) -> QPoint:
        """A pixel of a real object on screen (instance, or labelled region), else anywhere."""
        ann = self.win.state.annotation
        if ann is None:
            return self.random_point()
        layer = ann.corrected
        pixel = None
        if layer.instances:
            mask = self.rng.choice(layer.instances).mask
            if not mask.is_empty:
                ys, xs = mask.crop.nonzero()
                k = self.rng.randrange(len(xs))
                pixel = (mask.x0 + xs[k], mask.y0 + ys[k])
        elif layer.label_map is not None and layer.label_map.any():
            y, x = self.rng.randrange(ann.height), self.rng.randrange(ann.width)
            pixel = (x, y)
        if pixel is None:
            return self.random_point()
        return self._on_screen(pixel[0] + 0.5, pixel[1] + 0.5) or self.random_point()

    def _on_screen(self, x: float, y: float) -> QPoint | None:
        p = self.win.view.viewportTransform().map(QPointF(x, y))
        q = QPoint(round(p.x()), round(p.y()))
        return q if self.vp.rect().adjusted(1, 1, -1, -1).contains(q) else None

    def vertex_point(self) -> QPoint | None:
        """A vertex of the outline or polygon the current tool shows (those drags are the tool's job)."""
        points = getattr(self.win.view.tool, "points", None)
        if not points:
            return None
        x, y = self.rng.choice(list(points))
        return self._on_screen(x + 0.5, y + 0.5)

    def walk(self, start: QPoint, steps: int):
        """A wandering path from `start`: every step lands on another viewport pixel, inside it."""
        r = self.vp.rect()
        x, y = start.x(), start.y()
        dx, dy = self.rng.randint(-6, 6), self.rng.randint(-6, 6)
        for _ in range(steps):
            dx = max(-14, min(14, dx + self.rng.randint(-3, 3)))
            dy = max(-14, min(14, dy + self.rng.randint(-3, 3)))
            if dx == dy == 0:
                dx = self.rng.choice((-1, 1))
            nx, ny = x + dx, y + dy
            if not 1 <= nx < r.width() - 1:
                dx, nx = -dx, x - dx
            if not 1 <= ny < r.height() - 1:
                dy, ny = -dy, y - dy
            x, y = max(1, min(r.width() - 2, nx)), max(1, min(r.height() - 2, ny))
            yield QPoint(x, y)

    def _button(self) -> tuple[Qt.MouseButton, Qt.KeyboardModifier]:
        button = LEFT if self.rng.random() < 0.75 else RIGHT
        mods = self.rng.choices([NONE, SHIFT, CTRL, ALT], weights=[8, 2, 1, 1])[0]
        return button, mods

    # ---- gestures ---------------------------------------------------------------------------------
    def stroke(self, moves: int, start: QPoint | None = None, probe=None) -> None:
        """Press, `moves` moves, release; `probe` (if any) is called after the press and after the last
        move, with the button still down."""
        start = start or (self.object_point() if self.rng.random() < 0.5 else self.random_point())
        self.press(start, *self._button())
        self._note(f"{moves} moves")
        points = list(self.walk(start, moves))
        before = probe() if probe else None
        for p in points:
            self.move(p)
        if probe:
            self.long_strokes.append((moves, before, probe()))
        self.release()

    def long_stroke(self) -> None:
        """The stroke of LONG_STROKE+ moves; what `count` (if set) says before and after its moves goes
        to `long_strokes` (the test counts references to None there: nothing is committed mid-stroke,
        so nothing legitimately frees many of them)."""
        start = self.vertex_point() if self.rng.random() < 0.5 else None
        self.stroke(self.rng.randint(LONG_STROKE, LONG_STROKE + self.long_extra), start, self.count)

    def drag_vertex(self) -> None:
        start = self.vertex_point()
        if start is None:
            self.click()
            return
        self.press(start, LEFT, SHIFT if self.rng.random() < 0.1 else NONE)
        moves = self.rng.randint(3, 60)
        self._note(f"{moves} moves")
        for p in self.walk(start, moves):
            self.move(p)
        self.release()

    def click(self) -> None:
        pos = self.object_point() if self.rng.random() < 0.6 else self.random_point()
        button, mods = self._button()
        self._note(f"click {button.name} {mods.name} at {pos.x()},{pos.y()}")
        self.qtbot.mouseClick(self.vp, button, mods, pos)
        self._pos = pos
        self.events += 2

    def double_click(self) -> None:
        pos = self.object_point()
        self._note(f"double-click at {pos.x()},{pos.y()}")
        self.qtbot.mouseDClick(self.vp, LEFT, NONE, pos)
        self.events += 2

    def hovering(self) -> None:
        steps = self.rng.randint(5, 60)
        self._note(f"hover {steps} moves")
        for p in self.walk(self._pos, steps):
            self.hover(p)
        if self.rng.random() < 0.3:
            self.qtbot.wait(35)  # let throttled work (the scissors' live path) and workers run

    def wheeling(self) -> None:
        mods = CTRL if self.rng.random() < 0.4 else NONE
        self.wheel(self.random_point(), self.rng.choice((-2, -1, 1, 1, 2)), mods)

    def safe_key(self) -> None:
        self.key(*self.rng.choice(SAFE_KEYS))

    def undo_redo(self) -> None:
        n = self.rng.randint(1, 8)
        for _ in range(n):
            self.key(*UNDO)
        for _ in range(self.rng.randint(0, n)):
            self.key(*self.rng.choice((REDO, REDO_SHIFT)))

    def switch_mid_stroke(self) -> None:
        """Press, move, pick another tool with the button still down, move on, release, come back."""
        start = self.random_point()
        self.press(start, *self._button())
        points = list(self.walk(start, self.rng.randint(20, 200)))
        cut = self.rng.randrange(len(points))
        for k, p in enumerate(points):
            if k == cut:
                self.pick_tool(self.rng.choice(tool_names(self.win.state.project.task)))
                if self.rng.random() < 0.3:
                    self.key(*self.rng.choice(((K.Key_D, NONE), (K.Key_A, NONE))))  # image switch mid-stroke
            self.move(p)
        self.release()
        self.pick_tool(self.tool)

    def pan(self) -> None:
        """Middle-button drag, or Space + left drag (any tool)."""
        space = self.rng.random() < 0.5
        if space:
            self._note("space down")
            self.qtbot.keyPress(self.win.view, K.Key_Space)
        start = self.random_point()
        self.press(start, LEFT if space else MIDDLE)
        for p in self.walk(start, self.rng.randint(5, 40)):
            self.move(p)
        self.release()
        if space:
            self._note("space up")
            self.qtbot.keyRelease(self.win.view, K.Key_Space)
        self.events += 2 * space

    def switch_image(self) -> None:
        self.key(*self.rng.choice(((K.Key_D, NONE), (K.Key_A, NONE), (K.Key_Right, NONE), (K.Key_Left, NONE))))

    def pause(self) -> None:
        self.qtbot.wait(self.rng.randint(0, 40))

    GESTURES = {  # name: (weight, method)
        "stroke": (10, lambda d: d.stroke(d.rng.randint(5, 80))),
        "drag_vertex": (6, drag_vertex),
        "click": (14, click),
        "double_click": (3, double_click),
        "hover": (8, hovering),
        "wheel": (4, wheeling),
        "key": (14, safe_key),
        "undo_redo": (5, undo_redo),
        "switch_mid_stroke": (2, switch_mid_stroke),
        "pan": (2, pan),
        "switch_image": (1, switch_image),
        "pause": (2, pause),
    }

    def burst(self, tool: str, events: int, long_stroke: bool = True) -> None:
        """`tool` (picked by its shortcut), then about `events` random events, and one LONG_STROKE
        stroke among them unless `long_stroke` is False."""
        self.tool = tool
        self.pick_tool(tool)
        names = list(self.GESTURES)
        weights = [self.GESTURES[n][0] for n in names]
        long_at, done, long_done = self.rng.randint(0, events), 0, not long_stroke
        while done < events or not long_done:
            before = self.events
            if not long_done and done >= long_at:
                self.long_stroke()
                long_done = True
                continue
            self._run(self.rng.choices(names, weights)[0])
            done += self.events - before
        self.settle()

    def _run(self, name: str) -> None:
        self.GESTURES[name][1](self)

    def settle(self) -> None:
        """End of a burst: no button held, previews cancelled (Esc twice), queued work done."""
        self.release()
        self.qtbot.wait(50)
        self.key(K.Key_Escape)
        self.key(K.Key_Escape)
