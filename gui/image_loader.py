"""Switching to a big image without a stall: decode and prepare it in a worker, then show it at once.

For an image above SYNC_MAX_PIXELS the worker reads the annotation and the pixels, and makes what
the views would otherwise compute on the GUI thread (PREPARERS: the canvas picture and overlay
tiles, the IoU panel's live IoU). Until it is ready the previous image stays on screen and takes
edits as before; a note over the canvas says what is loading. Rules (ADR 0012):
- only the newest request counts: a newer one cancels the running load, so rapid switching ends
  on the last image chosen;
- a result is shown only if it is still the project's annotation of that image (an import may
  have replaced it meanwhile: then it is loaded again) and never in the middle of a brush stroke
  (the stroke ends on the image it started on; the switch follows it);
- a failure says why in the usual dialog and the current image stays.
Small images (the whole switch costs a few ms) are loaded on the spot: no flicker, no note.
"""
from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

from maskwork.core.domain.errors import MaskworkError
from maskwork.core.store.image_fit import ImageSizeChanged
from maskwork.core.store.images import image_size
from maskwork.gui.workers import Job, start

SYNC_MAX_PIXELS = 2_000_000  # measured: under ~2 MP the whole switch costs < 30 ms (docs/BENCHMARKS.md)
RETRY_MS = 30                # how often a finished load looks again whether the stroke has ended

# key -> (module, function): fn(project, annotation, rgb, display=...) -> what that view needs, made in
# the worker (`display`: the canvas picture's transform, e.g. a brightness/contrast/gamma setting, taken
# on the GUI thread when the load starts); the view picks it up with ready(state, key, annotation)
# while image_changed is emitted.
PREPARERS = {
    "canvas": ("maskwork.gui.canvas.binding", "prepare_canvas"),
    "iou": ("maskwork.gui.panels.iou_panel", "prepare_live"),
}


@dataclass
class Prepared:
    name: str
    annotation: object            # core.domain.annotation.ImageAnnotation (the project's own object)
    rgb: np.ndarray
    extras: dict = field(default_factory=dict)


def ready(state, key: str, annotation):
    """What the worker made for `key`, if the image being shown is the one it was made for."""
    prepared = state.prepared
    if prepared is None or annotation is None or prepared.annotation is not annotation:
        return None
    return prepared.extras.get(key)


def needs_worker(project, name: str) -> bool:
    try:
        width, height = image_size(project.image_path(name))
    except MaskworkError:
        return False  # the synchronous path reports it the usual way
    return width * height > SYNC_MAX_PIXELS


def prepare_or_misfit(project, name: str, progress=None, cancel=None, display=None) -> Prepared | ImageSizeChanged:
    """prepare(), or the ImageSizeChanged that stopped it: the window asks about that one (a Job's failure
    reaches the GUI thread as text only)."""
    try:
        return prepare(project, name, progress, cancel, display)
    except ImageSizeChanged as exc:
        return exc


def prepare(project, name: str, progress=None, cancel=None, display=None) -> Prepared:
    """Worker: annotation, pixels and every view's precomputation (cancellable between steps)."""
    annotation = project.annotation(name)
    cancel.check()
    rgb = project.image(name)
    prepared = Prepared(name, annotation, rgb)
    for key, (module, fn) in PREPARERS.items():
        cancel.check()
        try:
            make = getattr(importlib.import_module(module), fn)
        except (ImportError, AttributeError):
            continue  # that view then computes on the GUI thread as for a small image
        prepared.extras[key] = make(project, annotation, rgb, display=display)
    return prepared


class ImageLoader(QObject):
    """Session.open_image hands big images here; Session.show_image(prepared, restore_view) follows once
    the image is ready (on the GUI thread)."""

    failed = Signal(object)  # MaskworkError or message, for the usual error dialog
    size_changed = Signal(object)  # ImageSizeChanged: the window offers to start the image again

    def __init__(self, session, view, parent=None) -> None:
        super().__init__(parent)
        self.session, self.view = session, view
        self.target: str | None = None    # the image being loaded (the newest request)
        self._job: Job | None = None
        self._project = None
        self._restore_view = False
        self.note = QLabel(view.viewport())
        self.note.setStyleSheet("background: rgba(0, 0, 0, 160); color: white; padding: 6px; border-radius: 4px;")
        self.note.hide()

    @property
    def busy(self) -> bool:
        return self.target is not None

    def load(self, project, name: str, restore_view: bool) -> None:
        self.cancel()
        self.target, self._project, self._restore_view = name, project, restore_view
        # the tone as set now is applied in the worker too (ImageItem.display: frozen, replaced on change)
        job = self._job = Job(prepare_or_misfit, project, name, display=self.view.image_item.display)
        # bound methods, not lambdas: Qt drops the connection if this loader is deleted (window closed)
        job.signals.finished.connect(self._finished)
        job.signals.failed.connect(self._failed)
        self._show_note(project, name)
        start(job)

    def cancel(self) -> None:
        """Forget the running load (a newer choice, another project, closing)."""
        if self._job is not None:
            self._job.cancel()
        self._job, self.target = None, None
        self.note.hide()

    def wait(self, timeout_s: float = 60.0) -> bool:
        """Tests and benchmarks: run the event loop until the newest load is shown (or failed)."""
        deadline = time.monotonic() + timeout_s
        while self.busy and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)
        return not self.busy

    # ---- results (GUI thread) -----------------------------------------------------------
    def _current(self) -> bool:
        """The signal comes from the newest load (an older one was cancelled: its result is dropped)."""
        return self._job is not None and self.sender() is self._job.signals

    def _finished(self, prepared: Prepared | ImageSizeChanged) -> None:
        job = self._job
        if job is None or not self._current():
            return
        if isinstance(prepared, ImageSizeChanged):
            self._job, self.target = None, None
            self.note.hide()
            self.size_changed.emit(prepared)
            return
        self._arrived(job, prepared)

    def _arrived(self, job: Job, prepared: Prepared) -> None:
        if job is not self._job:
            return  # superseded while held back
        project = self._project
        if self.session.state.project is not project:
            self.cancel()
            return
        if project.annotation(prepared.name) is not prepared.annotation:
            self.load(project, prepared.name, self._restore_view)  # replaced meanwhile (an import): read again
            return
        if self.session.editor.stroke_active():  # the stroke ends on its image; the switch follows
            QTimer.singleShot(RETRY_MS, self, lambda: self._arrived(job, prepared))
            return
        self._job, self.target = None, None
        self.note.hide()
        self.session.show_image(prepared, self._restore_view)

    def _failed(self, message: str) -> None:
        if not self._current():
            return
        self._job, self.target = None, None
        self.note.hide()
        self.failed.emit(message)

    def _show_note(self, project, name: str) -> None:
        try:
            w, h = image_size(project.image_path(name))
            size = f" ({w} x {h}, {w * h / 1e6:.0f} MP)"
        except MaskworkError:
            size = ""
        self.note.setText(f"Loading {name}{size}…")
        self.note.adjustSize()
        self.note.move(12, 12)
        self.note.show()
        self.note.raise_()

