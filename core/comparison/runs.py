"""One model over the compared images: each image's prediction in the data's classes and its latency,
taken from the cache where the same model has seen the same pixels before."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from maskwork.core.comparison.cache import PredictionCache, image_key
from maskwork.core.errors import InputError
from maskwork.core.progress import CancelToken, ProgressFn, check, report
from maskwork.core.training.evaluate import Evaluation, instance_records


@dataclass
class SideRun:
    """Model A's or B's predictions, one dict per compared image (same order as the items):
    semantic {"label_map"}, instance {"detections": COCO result records}; both with "latency_ms"."""

    label: str
    predictions: list[dict] = field(default_factory=list)  # {"skipped": why} for an image that cannot be read
    cache_hits: int = 0
    predict_seconds: float = 0.0  # model work this run (0 when every image came from the cache)


def _predict_semantic(ev: Evaluation, rgb: np.ndarray) -> dict:
    predictor: Any = ev.predictor  # a Predictor of any backend (Evaluation types it as object)
    res = predictor.predict(rgb)
    return {"label_map": ev.cmap.apply_label_map(res.label_map), "latency_ms": float(res.latency_ms)}


def _predict_instance(ev: Evaluation, rgb: np.ndarray) -> dict:
    predictor: Any = ev.predictor
    res = predictor.predict(rgb, score_threshold=0.0)
    records = instance_records(res, 0, ev.cmap)
    for r in records:  # JSON-safe RLE (pycocotools reads str counts as well as bytes)
        counts = r["segmentation"]["counts"]
        r["segmentation"] = {"size": list(r["segmentation"]["size"]),
                             "counts": counts.decode() if isinstance(counts, bytes) else counts}
    return {"detections": records, "latency_ms": float(res.latency_ms)}


PREDICT = {"semantic": _predict_semantic, "instance": _predict_instance}


def run_side(ev: Evaluation, cache: PredictionCache, progress: ProgressFn | None = None,
             cancel: CancelToken | None = None, step: tuple[int, int] = (0, 1)) -> SideRun:
    """`step` (k, n): this is the k-th of n model runs, for one progress bar over both."""
    run = SideRun(ev.label)
    names = [c.name for c in ev.data.classes]
    predict = PREDICT[ev.task]
    total = len(ev.items) * step[1]
    for i, item in enumerate(ev.items):
        check(cancel)
        try:
            rgb = item.image()
        except InputError as exc:  # one unreadable image is reported and left out, not the end of the comparison
            run.predictions.append({"skipped": str(exc)})
            continue
        key = image_key(rgb, names)
        found = cache.get(key)
        if found is None:
            start = time.perf_counter()
            found = predict(ev, rgb)
            run.predict_seconds += time.perf_counter() - start
            cache.put(key, found)
        else:
            run.cache_hits += 1
        run.predictions.append(found)
        report(progress, step[0] * len(ev.items) + i + 1, total, f"{ev.label}: {item.name}")
    return run
