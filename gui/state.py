"""The GUI's shared state: one object the window, canvas and panels observe through Qt signals.

It holds references to core objects (Project, ImageAnnotation) and never a second copy of a mask.
Views call methods here (or core functions) and react to the signals; they never talk to each other.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from maskwork.core.domain.annotation import ImageAnnotation
from maskwork.core.models.results import Result
from maskwork.core.store.project import Project
from maskwork.gui.object_flags import ObjectFlags


class AppState(QObject):
    project_changed = Signal()          # a project was opened (or closed)
    image_changed = Signal(str)         # current image switched; arg: file name
    layer_changed = Signal(object)      # corrected layer edited; arg: (x0, y0, x1, y1) dirty box or None = all
    prediction_changed = Signal()       # current image's prediction replaced or re-thresholded
    classes_changed = Signal()          # class list edited (names, colours, added)
    current_class_changed = Signal(int)
    model_changed = Signal()            # model name / int8 / threshold changed
    status_message = Signal(str)        # short text for the status bar
    open_requested = Signal(str)        # a panel asks the main window to open this image (file name)
    review_requested = Signal(list, str)  # a panel asks the image list to show only these images (names, why)
    comparison_requested = Signal(str, str)  # compare model A with model B over the project (Dataset tab)
    predict_requested = Signal(list)    # the train dialog asks the model panel to run the model on these images
    select_requested = Signal(list)     # a panel asks the canvas to select these instance ids (corrected layer)
    annotations_changed = Signal(list)  # predictions/statuses of these images changed (e.g. "run on all")
    reviewed_changed = Signal(list)     # the "reviewed" mark of these images changed (core/store/review.py)

    def __init__(self) -> None:
        super().__init__()
        self.project: Project | None = None
        self.current_name: str | None = None     # file name of the current image
        self.annotation: ImageAnnotation | None = None
        self.image: np.ndarray | None = None     # (H, W, 3) uint8 RGB of the current image
        self.current_class: int = 1
        self.model_name: str | None = None
        self.int8: bool = False
        self.score_threshold: float = 0.5
        self.last_result: Result | None = None   # of the current image
        self.prepared = None                     # gui.image_loader.Prepared while image_changed is emitted
        self.flags = ObjectFlags(self)           # hidden / locked objects and classes (Objects panel)

    # Small helpers so every view says the same thing the same way.
    def set_current_class(self, class_id: int) -> None:
        if class_id != self.current_class:
            self.current_class = class_id
            self.current_class_changed.emit(class_id)

    def request_comparison(self, a: str, b: str) -> None:
        """Ask the Dataset tab to compare model `a` with model `b` on every image (e.g. before/after training)."""
        self.comparison_requested.emit(a, b)

    def request_review(self, names: list[str], why: str) -> None:
        """Ask the image list to show only `names` (e.g. the images where model B loses), saying `why`."""
        self.review_requested.emit(list(names), why)

    def request_open(self, name: str) -> None:
        """Ask the main window to switch to image `name` (it listens to open_requested)."""
        self.open_requested.emit(name)

    def refuse_read_only(self) -> bool:
        """True (and says why in the status bar) when the open project is read-only: another program
        has it open for writing, so an edit made here could never be saved (core/store/project_lock.py)."""
        p = self.project
        if p is None or not getattr(p, "read_only", False):
            return False
        self.status_message.emit(f"Read-only: {p.lock_holder or 'another program'} has this project open for "
                                 "writing; close it there and press Retry in the banner to edit.")
        return True

    def notify_edit(self, bbox=None) -> None:
        if self.project is not None and self.current_name is not None:
            self.project.mark_dirty(self.current_name)
        self.layer_changed.emit(bbox)
