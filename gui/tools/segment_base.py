"""Shared behaviour of the click-to-segment tools: a prompt becomes a previewed mask, Enter or a
double-click commits it as one undo step (Shift: extend, Ctrl: cut; see gui/controllers/editor_masks.py),
Esc cancels, Backspace takes back the last prompt element. The segmentation itself is core's
(core.interactive.segment), which works on a window around the prompt: the full image array is
passed by reference, never copied per click. On an image above image_loader.SYNC_MAX_PIXELS it runs in a
worker (one at a time, the newest prompt wins; Enter meanwhile commits the result when it arrives).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt

from maskwork.core.domain.errors import MaskworkError
from maskwork.core.domain.masks import Mask
from maskwork.core.view.render import mask_bgra
from maskwork.gui import image_loader
from maskwork.gui.canvas.preview_layer import PreviewLayer
from maskwork.gui.tools.base import Tool
from maskwork.gui.workers import Job, start

if TYPE_CHECKING:  # core.interactive loads with the first segmentation
    from maskwork.core.interactive.prompt import Prompt

COMMIT_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
CLICK_SLOP = 3  # screen pixels a click may move and still count as a click, not a drag
KEYS_INSTANCE = " Enter keeps (Shift: extend the selected instance, Ctrl: cut it), Esc cancels."
KEYS_SEMANTIC = " Enter keeps (Shift: unlabeled pixels only, Ctrl: erase), Esc cancels."


def commit_mode(modifiers) -> str:
    if modifiers & Qt.KeyboardModifier.ControlModifier:
        return "cut"
    if modifiers & Qt.KeyboardModifier.ShiftModifier:
        return "add"
    return "new"


def is_negative(event) -> bool:
    """Right button, or Alt with the left one (one-button mice, tablets)."""
    return (event.button() == Qt.MouseButton.RightButton
            or bool(event.modifiers() & Qt.KeyboardModifier.AltModifier))


@dataclass
class Painted:
    mask: Mask | None
    rgb: tuple[int, int, int]
    pixels: np.ndarray | None  # the preview's premultiplied BGRA (core.view.render.mask_bgra)


def segment_and_paint(kind: str, image, prompt, rgb: tuple[int, int, int]) -> Painted:
    """Worker: the segmentation and its preview pixels (40+ ms for a 3 MP mask: not on the GUI thread)."""
    from maskwork.core.interactive import segment

    mask = segment(kind, image, prompt)
    return Painted(mask, rgb, mask_bgra(mask.crop, rgb) if mask is not None and not mask.is_empty else None)


class PreviewTool(Tool):
    """A tool that shows a proposal before committing it."""

    commit_label = "Segment"
    intro = ""  # first half of the status-bar hint; the commit keys follow, worded for the project's task

    @property
    def hint(self) -> str:
        return self.intro + (KEYS_INSTANCE if self.editor.instance_mode else KEYS_SEMANTIC)

    def __init__(self, editor, canvas) -> None:
        super().__init__(editor, canvas)
        self.state = editor.state
        self._preview: PreviewLayer | None = None
        self.state.image_changed.connect(lambda _name: self.cancel())
        self.state.project_changed.connect(self.cancel)
        self.state.current_class_changed.connect(lambda _c: self.redraw())

    @property
    def preview(self) -> PreviewLayer:
        if self._preview is None:
            self._preview = PreviewLayer(self.canvas.scene())
        return self._preview

    def class_rgb(self) -> tuple[int, int, int]:
        project = self.state.project
        try:
            return project.classes.get(self.state.current_class).rgb
        except (AttributeError, KeyError):
            return (255, 255, 0)

    def say(self, text: str) -> None:
        self.state.status_message.emit(text)

    # ---- to implement ---------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """A prompt or preview is pending (Enter / Esc / Backspace belong to the tool)."""
        return False

    def redraw(self) -> None: ...
    def pop(self) -> bool:
        """Take back the last prompt element; False when there was none."""
        return False

    def commit(self, mode: str) -> None: ...

    # ---- keys -----------------------------------------------------------------------------------
    def claims_key(self, event) -> bool:
        return self.active and event.key() in COMMIT_KEYS + (Qt.Key.Key_Escape, Qt.Key.Key_Backspace)

    def key_press(self, event) -> bool:
        if not self.active:
            return False
        key = event.key()
        if key in COMMIT_KEYS:
            self.commit(commit_mode(event.modifiers()))
        elif key == Qt.Key.Key_Escape:
            self.cancel()
        elif key == Qt.Key.Key_Backspace:
            if not self.pop():
                self.cancel()
        else:
            return False
        return True

    def double_click(self, p, event) -> None:
        if self.active:
            self.commit(commit_mode(event.modifiers()))


class SegmentTool(PreviewTool):
    """A core.interactive tool: gestures build a Prompt, each change re-runs segment()."""

    kind = "grabcut"  # core.interactive.TOOLS key

    def __init__(self, editor, canvas) -> None:
        super().__init__(editor, canvas)
        self.prompt: Prompt | None = None  # while the user works on an object
        self.mask: Mask | None = None      # previewed
        self._history: list[Prompt] = []   # prompts before each change, for Backspace
        self._job: Job | None = None       # big images: the segmentation running in a worker
        self._rerun = False                # the prompt changed while it ran
        self._pending_commit: str | None = None  # Enter pressed while it ran
        self._painted: Painted | None = None     # the worker's mask with its preview pixels

    @property
    def active(self) -> bool:
        return self.prompt is not None

    @property
    def busy(self) -> bool:
        """A worker is segmenting (big images); the preview follows."""
        return self._job is not None

    def new_prompt(self, **parts) -> Prompt:
        from maskwork.core.interactive.prompt import Prompt

        return Prompt(tolerance=self.tolerance(), **parts)

    def tolerance(self) -> float:
        return 0.5

    def change(self, prompt: Prompt) -> None:
        """Make `prompt` the current one and re-run the segmentation (Backspace returns to the
        previous prompt)."""
        if self.prompt is not None:
            self._history.append(self.prompt)
        self.prompt = prompt
        self.run()

    def run(self) -> None:
        """Segment the current prompt: at once on a small image, in a worker on a big one (a fix of a 20 MP
        object takes ~1.5 s; the window must not stop for it). One worker at a time: prompts that arrive
        meanwhile are answered with the newest when it ends."""
        image = self.state.image
        if self.prompt is None or image is None:
            return
        if image.shape[0] * image.shape[1] <= image_loader.SYNC_MAX_PIXELS:
            self._painted = None
            self._show(*self._segment_now(image))
            return
        self.redraw_prompt()  # the click shows at once; the mask follows
        self._rerun = True
        if self._job is None:
            self._start_job()

    def _segment_now(self, image) -> tuple[Mask | None, str]:
        from maskwork.core.interactive import segment

        if self.prompt is None:
            return None, ""
        try:
            return segment(self.kind, image, self.prompt), ""
        except MaskworkError as exc:
            return None, str(exc)

    def _start_job(self) -> None:
        self._rerun = False
        prompt, rgb = self.prompt, self.class_rgb()
        job = self._job = Job(segment_and_paint, self.kind, self.state.image, prompt, rgb, pass_progress=False)
        job.signals.finished.connect(lambda out, j=job: self._job_ended(j, prompt, out, ""))
        job.signals.failed.connect(lambda message, j=job: self._job_ended(j, prompt, None, message))
        start(job)

    def _job_ended(self, job: Job, prompt, out: Painted | None, message: str) -> None:
        if job is not self._job:
            return  # cancelled meanwhile (Esc, another image, another tool)
        self._job = None
        if self.prompt is None:
            return
        if self._rerun or prompt is not self.prompt:  # newer clicks came in: answer the newest
            self._start_job()
            return
        self._painted = out
        self._show(out.mask if out is not None else None, message)
        mode, self._pending_commit = self._pending_commit, None
        if mode is not None:
            self.commit(mode)

    def deferred(self, mode: str) -> bool:
        """Enter while the worker still segments: the commit follows the result (True: it was deferred)."""
        if self._job is None:
            return False
        self._pending_commit = mode
        self.say("Finishing the mask; it is kept as soon as it is ready.")
        return True

    def _show(self, mask: Mask | None, message: str = "") -> None:
        self.mask = mask
        if message:
            self.say(message)
        if self.mask is not None and self.mask.is_empty:
            self.say("The tool found nothing here: add a click inside the object, or Backspace.")
        self.redraw()

    def pop(self) -> bool:
        if not self._history:
            return False
        self.prompt = self._history.pop()
        self.run()
        return True

    def redraw(self) -> None:
        """Mask and prompt (after a new segmentation or a class change)."""
        shown = self.mask if self.prompt is not None and self.mask is not None else None
        if self._preview is not None or shown is not None:
            rgb, painted = self.class_rgb(), self._painted
            pixels = ([painted.pixels] if painted is not None and painted.mask is shown and painted.rgb == rgb
                      else None)  # painted in the worker with this colour: not again on the GUI thread
            self.preview.show_masks([shown] if shown is not None else [], rgb, pixels)
        self.redraw_prompt()

    def redraw_prompt(self) -> None:
        """Only the prompt marks (cheap: called on every mouse move of a gesture)."""
        parts = self.prompt_parts()
        if parts is None:
            if self._preview is not None:
                self._preview.show_prompt()
            return
        self.preview.show_prompt(**parts)

    def prompt_parts(self) -> dict | None:
        """What to draw of the prompt; subclasses add the gesture in progress."""
        p = self.prompt
        if p is None:
            return None
        return {"box": p.box, "points": list(p.points), "strokes": [(s.points, s.positive) for s in p.strokes]}

    def commit(self, mode: str) -> None:
        if self.deferred(mode):
            return
        if self.mask is None or self.mask.is_empty:
            self.say("Nothing to commit yet: the preview is empty.")
            return
        if self.editor.commit_mask(self.mask, mode, self.commit_label):
            self.cancel()

    def cancel(self) -> None:
        self.prompt, self.mask, self._history = None, None, []
        self._job, self._rerun, self._pending_commit, self._painted = None, False, None, None  # results dropped
        if self._preview is not None:
            self._preview.clear()
