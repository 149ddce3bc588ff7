"""Work the model panel runs in worker threads: thin calls into core.models (no logic of its own).
Loaded models live in core.models.predictor_cache.PREDICTORS.

Listing the models never imports torch; loading and running one does, in the worker, the first time a
model runs (ADR 0012).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str          # "semantic" | "instance"
    state: str         # "cached" | "bundled" | "needs download" | "missing" | "user"
    description: str = ""
    classes: object = None  # core.domain.annotation.ClassList: matched to the project's before anything runs
    int8: object = None     # core.models.int8.dispatch.Int8Support: whether the int8 toggle switches, and why (not)


def list_models_and_skipped(progress=None, cancel=None) -> tuple[list[ModelEntry], list[str]]:
    """The model list, and one sentence per damaged entry of the user's models.json that it leaves out."""
    from maskwork.core.models.catalog.user_models import skipped_entries

    return list_models(progress, cancel), skipped_entries()


def list_models(progress=None, cancel=None) -> list[ModelEntry]:
    """Without torch (core.models.catalog.headers, core.models.catalog.availability): listing must not cost ~700 MB."""
    from maskwork.core.models.catalog import availability, registry
    from maskwork.core.models.int8.dispatch import support

    entries = []
    for spec in registry.all_models():
        try:
            state = availability.model_state(spec)
        except Exception as exc:  # a broken user entry must not hide the others
            log.warning("model %s: state unknown", spec.name, exc_info=True)
            state = f"unavailable ({type(exc).__name__})"
        try:
            int8 = support(spec)
        except Exception:  # the toggle then stays as it was; running reports the problem
            log.warning("model %s: int8 support unknown", spec.name, exc_info=True)
            int8 = None
        entries.append(ModelEntry(spec.name, spec.task, state, spec.description, spec.classes, int8))
    return entries


def predict_one(predictor, rgb, score_threshold: float, refine: str | tuple = "none", progress=None, cancel=None):
    if progress is not None:
        progress(0, 1, "running the model")
    result = predictor.predict(rgb, score_threshold=score_threshold, cancel=cancel)
    return refined(predictor, rgb, result, refine, score_threshold, cancel)


def refined(predictor, rgb, result, refine: str | tuple, score_threshold: float, cancel=None):
    """The result refined by core.refine.REFINERS[method] (in the worker; "none": as it is). `refine`: the
    method, or (method, SAM-family model) as the panel's RefineChoice.choice gives it."""
    method, prompt_model = (refine, None) if isinstance(refine, str) else refine
    if method == "none":
        return result
    from maskwork.core.refine.results import refine_result

    return refine_result(rgb, result, method, score_threshold, prompt_model, cancel=cancel, predictor=predictor)


@dataclass
class BatchOutcome:
    done: int
    errors: list  # (path, message) of images that could not be read; the others were segmented


def predict_many(predictor, paths: list[Path], names: list[str], score_threshold: float, refine: str | tuple, on_item,
                 progress=None, cancel=None) -> BatchOutcome:
    """Predict every image; `on_item((name, result))` is called for each one as it is done, its result
    refined first when `refine` is not "none" (the image is read again for that)."""
    from maskwork.core.models.batch import predict_batch

    by_path = {str(Path(p)): n for p, n in zip(paths, names)}
    errors: list = []
    done = 0
    for path, result in predict_batch(predictor, paths, progress=progress, cancel=cancel,
                                      score_threshold=score_threshold, errors=errors):
        if refine not in ("none", ("none", None)):
            from maskwork.core.domain.errors import InputError
            from maskwork.core.store.images import read_image

            try:
                result = refined(predictor, read_image(path), result, refine, score_threshold, cancel)
            except InputError as exc:  # e.g. the file changed on disk since the model read it
                errors.append((path, str(exc)))
                continue
        on_item((by_path.get(str(path), Path(path).name), result))
        done += 1
    return BatchOutcome(done, errors)
