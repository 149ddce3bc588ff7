"""Loaded predictors shared by one process (model panel, compare window, training dialog).

Keyed by (model name, int8); the few most recently used stay loaded because models are large. Loading runs in
the caller's thread (a GUI worker), and torch is imported only then, so importing this module stays cheap.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maskwork.core.models.predict import Predictor

MAX_LOADED = 4
CALIBRATION_IMAGES = 16  # int8 ranges come from this many of the user's own images


def calibration_paths(project) -> list | None:
    """Up to CALIBRATION_IMAGES image paths spread over the project (None without a project)."""
    if project is None:
        return None
    names = project.image_names()
    step = max(1, len(names) // CALIBRATION_IMAGES)
    return [project.image_path(n) for n in names[::step]][:CALIBRATION_IMAGES]


class PredictorCache:
    def __init__(self, max_loaded: int = MAX_LOADED) -> None:
        self.max_loaded = max_loaded
        self._loaded: OrderedDict[tuple[str, bool], Predictor] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str, int8: bool) -> Predictor | None:
        with self._lock:
            predictor = self._loaded.get((name, int8))
            if predictor is not None:
                self._loaded.move_to_end((name, int8))
            return predictor

    def load(self, name: str, int8: bool, calibration: list | None = None, progress=None, cancel=None
             ) -> Predictor:
        """The loaded predictor, or load it: int8 comes from core.models.int8.dispatch (by backend), built from the
        float model calibrated on `calibration` (image paths; None = the bundled samples) or read from the
        int8 cache; an ONNX model's own int8 file when it has one."""
        found = self.get(name, int8)
        if found is not None:
            return found
        if progress is not None:
            progress(0, 1, f"loading {name}")
        predictor: Predictor
        if not int8:
            from maskwork.core.models.predict import Predictor  # torch: first needed here, in a worker

            predictor = Predictor(name, progress=progress, cancel=cancel)
        else:
            from maskwork.core.models.int8.dispatch import int8_of

            base = self.load(name, False, None, progress, cancel)
            images = list(calibration)[:CALIBRATION_IMAGES] if calibration else None
            predictor = int8_of(base, images, progress=progress, cancel=cancel)
        with self._lock:
            self._loaded[(name, int8)] = predictor
            while len(self._loaded) > self.max_loaded:
                self._loaded.popitem(last=False)
        if progress is not None:
            progress(1, 1, "model ready")
        return predictor

    def forget(self, name: str) -> None:
        """Drop loaded copies of a model (its checkpoint was replaced, e.g. retrained under the same name)."""
        with self._lock:
            for key in [k for k in self._loaded if k[0] == name]:
                del self._loaded[key]

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()


PREDICTORS = PredictorCache()
