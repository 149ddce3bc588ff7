"""Work the compare window runs in a Job: two models on one image, measured and compared by core.

Both models load through the model panel's shared loader (int8 calibrated on the project's images),
then core.models.compare.compare runs them (one warm-up, then timed) and measures their agreement
with A as the reference: IoU per class (semantic) or of each A instance with its B match.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from maskwork.core.models.results import InstanceResult, Result


@dataclass
class Side:
    label: str
    result: Result
    latency_ms: float
    size_bytes: int


@dataclass
class CompareOutcome:
    a: Side
    b: Side
    rows: list[tuple[str, float]] = field(default_factory=list)  # (class, or instance of A: agreement IoU)
    mean_iou: float = math.nan
    kind: str = "class"     # "class" (semantic) | "instance"


def label_of(name: str, int8: bool) -> str:
    return f"{name} ({'int8' if int8 else 'float'})"


def run_compare(a: tuple[str, bool], b: tuple[str, bool], rgb, score_threshold: float, calibration=None,
                progress=None, cancel=None) -> CompareOutcome:
    from maskwork.core.models.compare import compare
    from maskwork.core.models.predictor_cache import PREDICTORS

    predictors = []
    for k, (name, int8) in enumerate((a, b)):
        if progress is not None:
            progress(k, 3, f"loading {label_of(name, int8)}")
        predictors.append(PREDICTORS.load(name, int8, calibration, None, cancel))
    if predictors[0].task != predictors[1].task:
        from maskwork.core.domain.errors import InputError

        raise InputError(f"{a[0]} is a {predictors[0].task} model and {b[0]} a {predictors[1].task} model: "
                         "pick two models of the same task to compare them.")
    if progress is not None:
        progress(2, 3, "running both models")
    c = compare(tuple(predictors), rgb, score_threshold=score_threshold, cancel=cancel)
    sides = [Side(label_of(*choice), run.result, float(run.latency_ms), int(run.size_bytes))
             for choice, run in ((a, c.float_run), (b, c.int8_run))]
    first = sides[0].result
    names = {info.id: info.name for info in first.classes}
    if not isinstance(first, InstanceResult):  # semantic
        rows = [(names.get(cid, str(cid)), v) for cid, v in (c.per_class or {}).items() if not math.isnan(v)]
        kind = "class"
    else:  # per_instance follows A's kept instances, whose layer ids are 1, 2, ... in that order
        kept = first.keep(score_threshold)
        rows = [(f"#{n + 1} {names.get(int(first.class_ids[i]), '?')}", v)
                for n, (i, v) in enumerate(zip(kept, c.per_instance or []))]
        kind = "instance"
    return CompareOutcome(sides[0], sides[1], rows, float(c.mean_agreement), kind)
