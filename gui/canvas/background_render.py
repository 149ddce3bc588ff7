"""A new prediction on a big image, rendered in a worker: the overlay keeps showing the old tiles until the
new ones are ready, then takes them at once (a 48 MP layer is ~0.3 s of rendering on the GUI thread).

Only for the prediction overlay: predictions are never edited in place, so the tiles made from a layer
stay right until the layer object is replaced; a result for a layer, colour table or image that is no
longer the current one is dropped (a newer reset comes with the newer layer).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject

from maskwork.core.domain.annotation import ImageAnnotation, Layer
from maskwork.gui import image_loader
from maskwork.gui.canvas.overlay_layer import render_tiles
from maskwork.gui.workers import Job, start


class BackgroundRender(QObject):
    def __init__(self, state, overlay, lut, shown, parent=None) -> None:
        super().__init__(parent)
        self.state, self.overlay = state, overlay
        self.lut, self.shown = lut, shown  # lut(): the colour table now; shown(): after the tiles changed
        self._job: Job | None = None
        self._for: tuple[ImageAnnotation, Layer, np.ndarray] | None = None  # what the running job renders

    def cancel(self) -> None:
        """The overlay was reset another way (image switch, colours): a result still coming is dropped."""
        self._job = None

    def reset(self, ann, lut: np.ndarray) -> None:
        layer, overlay = ann.prediction, self.overlay
        self.cancel()
        small = ann.width * ann.height <= image_loader.SYNC_MAX_PIXELS
        filtered = overlay.view_filter is not None and overlay.view_filter(layer) is not layer
        if small or layer is None or layer.is_empty() or filtered:
            overlay.reset(layer, lut, ann.width, ann.height)
            self.shown()
            return
        self._for = (ann, layer, lut)
        job = self._job = Job(render_tiles, layer, lut, ann.width, ann.height, pass_progress=False)
        job.signals.finished.connect(self._finished)  # a bound slot: dropped if this object is deleted
        start(job)

    def _finished(self, made) -> None:
        if self._job is None or self._for is None or self.sender() is not self._job.signals:
            return
        self._job = None
        ann, layer, lut = self._for
        if self.state.annotation is not ann or ann.prediction is not layer or not np.array_equal(lut, self.lut()):
            return
        filtered = self.overlay.view_filter is not None and self.overlay.view_filter(layer) is not layer
        self.overlay.reset(layer, lut, ann.width, ann.height, None if filtered else made)  # hidden meanwhile
        self.shown()
