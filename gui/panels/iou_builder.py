"""The live IoU of a big image built in a worker (a 48 MP confusion count is ~0.3 s on the GUI thread),
for the IoU panel when a prediction arrives or the classes change.

The user may paint while it is built. LiveIoU counts from its own copy of the corrected map and later
updates by comparing that copy with the live map inside an edit's box, so the boxes edited meanwhile
are recorded and replayed on the finished LiveIoU: the result is the same as one built after the last
edit. Semantic label maps only (instance IoU costs per object, not per pixel: built at once).
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from maskwork.core.domain.annotation import ImageAnnotation, Layer
from maskwork.core.domain.errors import MaskworkError
from maskwork.core.metrics.live_iou import LiveIoU
from maskwork.gui import image_loader
from maskwork.gui.workers import Job, start


def worth_a_worker(ann) -> bool:
    return (ann is not None and ann.width * ann.height > image_loader.SYNC_MAX_PIXELS
            and ann.prediction is not None and ann.prediction.label_map is not None
            and ann.corrected.label_map is not None)


def _build(ann, classes):
    try:
        return LiveIoU(ann, classes)
    except MaskworkError as exc:  # shown by the panel as it shows a synchronous failure
        return exc


class LiveIoUBuilder(QObject):
    built = Signal(object)  # LiveIoU (edits replayed) or MaskworkError

    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self._job: Job | None = None
        # (annotation, corrected, prediction, classes) the running job builds for
        self._for: tuple[ImageAnnotation, Layer, Layer | None, list[dict]] | None = None
        self._edits: list = []

    @property
    def busy(self) -> bool:
        return self._job is not None

    def start(self, ann, classes) -> None:
        self.cancel()
        self._for, self._edits = (ann, ann.corrected, ann.prediction, classes.to_list()), []
        job = self._job = Job(_build, ann, classes, pass_progress=False)
        job.signals.finished.connect(self._finished)
        start(job)

    def cancel(self) -> None:
        self._job = None

    def note_edit(self, bbox) -> None:
        self._edits.append(bbox)

    def _finished(self, live) -> None:
        if self._job is None or self._for is None or self.sender() is not self._job.signals:
            return
        self._job = None
        ann, corrected, prediction, classes = self._for
        project = self.state.project
        if (self.state.annotation is not ann or ann.corrected is not corrected or ann.prediction is not prediction
                or project is None or project.classes.to_list() != classes):
            return  # out of date: the panel has asked for another one meanwhile
        if isinstance(live, LiveIoU):
            try:
                for bbox in self._edits:
                    live.update(bbox)
            except MaskworkError as exc:
                live = exc
        self.built.emit(live)
