"""Work the model panel runs in worker threads: thin calls into core.models (no logic of its own).

Everything here imports torch lazily, so the first torch import happens off the GUI thread.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str          # "semantic" | "instance"
    state: str         # "cached" | "bundled" | "needs download" | "missing" | "user"
    description: str = ""
    classes: object = None  # core.annotation.ClassList: matched to the project's before anything runs
    int8: object = None     # core.models.int8.Int8Support: whether the int8 toggle switches, and why (not)


def list_models(progress=None, cancel=None) -> list[ModelEntry]:
    from core.models import registry, weights
    from core.models.int8 import support

    entries = []
    for spec in registry.all_models() if hasattr(registry, "all_models") else _specs(registry.MODELS):
        try:
            state = weights.model_state(spec)
        except Exception as exc:  # a broken user entry must not hide the others
            state = f"unavailable ({type(exc).__name__})"
        try:
            int8 = support(spec)
        except Exception:  # the toggle then stays as it was; running reports the problem
            int8 = None
        entries.append(ModelEntry(spec.name, spec.task, state, getattr(spec, "description", "") or "",
                                  getattr(spec, "classes", None), int8))
    return entries


def _specs(models):
    return list(models.values()) if isinstance(models, dict) else list(models)


# Loaded predictors shared by the model panel and the compare window: (name, int8) -> Predictor.
_PREDICTORS: dict[tuple[str, bool], object] = {}
_LOCK = threading.Lock()
MAX_LOADED = 4           # models are large; keep the few most recently used
CALIBRATION_IMAGES = 16  # int8 ranges come from the user's own images when a project is open


def calibration_paths(project) -> list | None:
    """Up to CALIBRATION_IMAGES image paths spread over the project (None without a project)."""
    if project is None:
        return None
    names = project.image_names()
    step = max(1, len(names) // CALIBRATION_IMAGES)
    return [project.image_path(n) for n in names[::step]][:CALIBRATION_IMAGES]


def cached_predictor(name: str, int8: bool):
    with _LOCK:
        return _PREDICTORS.get((name, int8))


def forget(name: str) -> None:
    """Drop loaded copies of a model (its checkpoint was replaced, e.g. retrained under the same name)."""
    with _LOCK:
        for key in [k for k in _PREDICTORS if k[0] == name]:
            del _PREDICTORS[key]


def forget_all() -> None:
    with _LOCK:
        _PREDICTORS.clear()


def load_predictor(name: str, int8: bool, calibration: list | None = None, progress=None, cancel=None):
    """Load the weights in the worker; int8 comes from core.models.int8 (by backend): built from the float
    model calibrated on `calibration` (image paths of the project; None = core's bundled samples) or read
    from core's int8 cache; an ONNX model's own int8 file when it has one."""
    from core.models.predict import Predictor

    found = cached_predictor(name, int8)
    if found is not None:
        return found
    if progress is not None:
        progress(0, 1, f"loading {name}")
    if not int8:
        predictor = Predictor(name, progress=progress, cancel=cancel)
    else:
        from core.models.int8 import int8_of

        base = load_predictor(name, False, None, progress, cancel)
        images = list(calibration)[:CALIBRATION_IMAGES] if calibration else None
        predictor = int8_of(base, images, progress=progress, cancel=cancel)
    with _LOCK:
        _PREDICTORS[(name, int8)] = predictor
        while len(_PREDICTORS) > MAX_LOADED:
            _PREDICTORS.pop(next(iter(_PREDICTORS)))
    if progress is not None:
        progress(1, 1, "model ready")
    return predictor


def predict_one(predictor, rgb, score_threshold: float, progress=None, cancel=None):
    if progress is not None:
        progress(0, 1, "running the model")
    return predictor.predict(rgb, score_threshold=score_threshold, cancel=cancel)


@dataclass
class BatchOutcome:
    done: int
    errors: list  # (path, message) of images that could not be read; the others were segmented


def predict_many(predictor, paths: list[Path], names: list[str], score_threshold: float, on_item,
                 progress=None, cancel=None) -> BatchOutcome:
    """Predict every image; `on_item((name, result))` is called for each one as it is done."""
    from core.models.batch import predict_batch

    by_path = {str(Path(p)): n for p, n in zip(paths, names)}
    errors: list = []
    done = 0
    for path, result in predict_batch(predictor, paths, progress=progress, cancel=cancel,
                                      score_threshold=score_threshold, errors=errors):
        on_item((by_path.get(str(path), Path(path).name), result))
        done += 1
    return BatchOutcome(done, errors)
