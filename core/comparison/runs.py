"""Both models over the compared images: each image's prediction in the data's classes and its latency,
taken from the cache where the same model has seen the same pixels before.

Each image is read (and hashed for the cache) once, then run through A and B: the least any comparison
must do. `predict_one` is what the Ray actors run too (core.cluster.compare_job), so both engines fill
the cache with the same records.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from maskwork.core.comparison.cache import PredictionCache, image_key
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken, ProgressFn, check, report
from maskwork.core.models.class_map import ClassMap
from maskwork.core.training.evaluate import Evaluation, instance_records


@dataclass
class SideRun:
    """Model A's or B's predictions, one dict per compared image (same order as the items):
    semantic {"label_map"}, instance {"detections": COCO result records}; both with "latency_ms"."""

    label: str
    predictions: list[dict] = field(default_factory=list)  # {"skipped": why} for an image that cannot be read
    cache_hits: int = 0
    predict_seconds: float = 0.0  # model work this run (0 when every image came from the cache)


def _predict_semantic(predictor: Any, cmap: ClassMap, rgb: np.ndarray) -> dict:
    res = predictor.predict(rgb)
    return {"label_map": cmap.apply_label_map(res.label_map), "latency_ms": float(res.latency_ms)}


def _predict_instance(predictor: Any, cmap: ClassMap, rgb: np.ndarray) -> dict:
    res = predictor.predict(rgb, score_threshold=0.0)
    records = instance_records(res, 0, cmap)
    for r in records:  # JSON-safe RLE (pycocotools reads str counts as well as bytes)
        counts = r["segmentation"]["counts"]
        r["segmentation"] = {"size": list(r["segmentation"]["size"]),
                             "counts": counts.decode() if isinstance(counts, bytes) else counts}
    return {"detections": records, "latency_ms": float(res.latency_ms)}


PREDICT = {"semantic": _predict_semantic, "instance": _predict_instance}


def predict_one(task: str, predictor: Any, cmap: ClassMap, rgb: np.ndarray) -> dict:
    """One model's prediction of one image, in the data's classes (what the cache keeps)."""
    return PREDICT[task](predictor, cmap, rgb)


def run_sides(evs: list[Evaluation], caches: list[PredictionCache], progress: ProgressFn | None = None,
              cancel: CancelToken | None = None) -> list[SideRun]:
    """Every model of `evs` (the same items) over every image, with one read of each image."""
    runs = [SideRun(ev.label) for ev in evs]
    items = evs[0].items
    names = [c.name for c in evs[0].data.classes]
    for i, item in enumerate(items):
        check(cancel)
        try:
            rgb = item.image()
        except InputError as exc:  # one unreadable image is reported and left out, not the end of the comparison
            for run in runs:
                run.predictions.append({"skipped": str(exc)})
            continue
        key = image_key(rgb, names)
        for ev, cache, run in zip(evs, caches, runs):
            found = cache.get(key)
            if found is None:
                start = time.perf_counter()
                found = predict_one(ev.task, ev.predictor, ev.cmap, rgb)
                run.predict_seconds += time.perf_counter() - start
                cache.put(key, found)
            else:
                run.cache_hits += 1
            run.predictions.append(found)
        report(progress, i + 1, len(items), item.name)
    return runs
