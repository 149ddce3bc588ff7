"""A model's result refined as a whole, before it becomes a prediction layer ("Run on all images" with a
Refine choice; core/refine).

An instance result keeps the detections at the run's score threshold, their masks refined and their
source "refined"; detections under it are dropped (refining every detection the score slider could
show would cost up to ~300 objects per image), so lowering the slider below the run's threshold shows
nothing more: run again at the lower threshold. A semantic result gets its region borders refined.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from maskwork.core.domain.annotation import Instance, Source
from maskwork.core.domain.progress import CancelToken, ProgressFn, check, report
from maskwork.core.models.results import InstanceResult, Result, SemanticResult
from maskwork.core.refine.apply import mask_refiner


class RefinedInstances(InstanceResult):
    """An InstanceResult whose masks were refined: its objects carry source "refined"."""

    def filtered(self, score_threshold: float | None = None) -> list[Instance]:
        return [dataclasses.replace(i, source=Source.REFINED) for i in super().filtered(score_threshold)]


def refine_result(image: np.ndarray, result: Result, method: str, score_threshold: float, prompt_model=None,
                  progress: ProgressFn | None = None, cancel: CancelToken | None = None, predictor=None) -> Result:
    """`result` refined by REFINERS[method] ("none": the result itself); `predictor`: the model that made it
    ("zoom" runs it on each object's box)."""
    if method == "none":
        return result
    if isinstance(result, SemanticResult):
        from maskwork.core.refine.semantic import refine_label_map

        if method not in ("edges", "zoom"):  # a SAM-family model refines objects: the map stays the model's
            return result
        label_map = refine_label_map(image, result.label_map, progress=progress, cancel=cancel)
        return dataclasses.replace(result, label_map=label_map)
    kept = result.filtered(score_threshold)  # decodes down to the threshold only (YOLO's masks are lazy)
    mask_of = mask_refiner(method, image, prompt_model, cancel, predictor)
    masks = []
    for n, inst in enumerate(kept):
        check(cancel)
        report(progress, n, len(kept), f"refining object {n + 1} of {len(kept)}")
        masks.append(mask_of(inst.mask, inst.class_id))
    report(progress, len(kept), len(kept), "refined")
    boxes = np.asarray([m.bbox for m in masks], np.float32).reshape(-1, 4)
    return RefinedInstances(masks, boxes, np.asarray([i.class_id for i in kept], np.int64),
                            np.asarray([i.score for i in kept], np.float32), result.classes, result.height,
                            result.width, result.latency_ms, score_threshold)
