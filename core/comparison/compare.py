"""`compare_models(a, b, data)`: the use case behind `main.py compare` and the window's Dataset tab."""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from maskwork.core.comparison.cache import PredictionCache, default_cache_dir, model_key
from maskwork.core.comparison.data import has_truth, load_compare_data, model_facts
from maskwork.core.comparison.runs import SideRun, run_sides
from maskwork.core.comparison.scores import COMPARE, Comparison
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken, ProgressFn
from maskwork.core.domain.text import plural
from maskwork.core.training.evaluate import Evaluation, prepare

NO_CACHE = None
# (evaluations, their caches, progress, cancel) -> one SideRun per evaluation, predictions in item order
Runner = Callable[[list[Evaluation], list[PredictionCache], ProgressFn | None, CancelToken | None],
                  list[SideRun]]


def compare_models(a: str, b: str, data, *, int8_a: bool = False, int8_b: bool = False, calibration=None,
                   cache_dir: Path | None | str = "default", progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None, max_images: int | None = None,
                   device: str | None = None, runner: Runner | None = None,
                   ) -> tuple[Comparison, list[Evaluation], list[list[dict]]]:
    """Both models over the same images. Returns the table, both evaluations (models, items, class maps) and
    both models' predictions (for the report's thumbnails). `cache_dir`: "default" (the user's cache
    folder), a folder, or None (keep nothing). `runner`: what predicts the images (default run_sides, in this
    process; `compare --engine ray` hands in Ray actors, core.cluster.compare_job)."""
    started = time.perf_counter()
    task, classes = model_facts(a)
    task_b, _ = model_facts(b)
    if task_b != task:
        kind = {"instance": "an instance", "semantic": "a semantic"}
        raise InputError(f"model A ({a}) is {kind[task]} model, model B ({b}) {kind[task_b]} model: compare two "
                         f"{task} models")
    d = load_compare_data(data, task, classes)
    ev_a = prepare(a, d, device, max_images, None, int8_a, cancel, calibration if int8_a else None)
    ev_b = prepare(b, d, device, max_images, None, int8_b, cancel, calibration if int8_b else None)
    prepared = time.perf_counter()
    folder = default_cache_dir() if cache_dir == "default" else (Path(cache_dir) if cache_dir else None)
    calib = f"folder:{Path(calibration).resolve()}" if calibration else f"spread:{d.source}:{len(ev_a.items)}"
    caches = [PredictionCache(folder, model_key(ev.predictor, ev.float_model, calib)) for ev in (ev_a, ev_b)]
    runs = (runner or run_sides)([ev_a, ev_b], caches, progress, cancel)
    scoring = time.perf_counter()
    keep = [k for k in range(len(ev_a.items)) if all("skipped" not in r.predictions[k] for r in runs)]
    skipped = [runs[0].predictions[k].get("skipped") or runs[1].predictions[k].get("skipped")
               for k in range(len(ev_a.items)) if k not in set(keep)]
    if not keep:
        raise InputError(f"none of the {len(ev_a.items)} images could be read: {skipped[0]}")
    ev_a, ev_b = (replace(ev, items=[ev.items[k] for k in keep]) for ev in (ev_a, ev_b))
    for r in runs:
        r.predictions = [r.predictions[k] for k in keep]
    result = COMPARE[task](ev_a, ev_b, runs[0].predictions, runs[1].predictions)
    done = time.perf_counter()
    result.cost = {"seconds": done - started, "prepare_seconds": prepared - started,
                   "predict_seconds": [r.predict_seconds for r in runs],
                   "scoring_seconds": done - scoring, "cache_hits": [r.cache_hits for r in runs],
                   "images": len(ev_a.items)}
    result.notes += _notes(ev_a, ev_b, runs)
    if skipped:
        result.notes.append(f"{plural(len(skipped), 'image')} left out (cannot be read): {skipped[0]}"
                            + (f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""))
    return result, [ev_a, ev_b], [r.predictions for r in runs]


def _notes(ev_a: Evaluation, ev_b: Evaluation, runs) -> list[str]:
    notes = []
    without = sum(not has_truth(it) for it in ev_a.items)
    if without == len(ev_a.items):
        notes.append("No truth here yet: the images are ranked by how much the two models disagree, the list of "
                     "images to correct first (corrections help most where the models disagree).")
    elif without:
        notes.append(f"{plural(without, 'image')} without corrected masks: ranked by disagreement only.")
    for side, ev in (("A", ev_a), ("B", ev_b)):
        lines = ev.cmap.mapping_lines("data")
        if any("not in the" in line or "no model class" in line for line in lines):
            notes += [f"{side} classes: {line}" for line in lines]
    hits = [r.cache_hits for r in runs]
    if any(hits):
        notes.append(f"predictions from the cache: A {hits[0]}, B {hits[1]} of {len(ev_a.items)} images")
    return notes
