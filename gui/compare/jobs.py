"""Work the compare window runs in a Job: two models on one image, measured and compared by core.

Both models load through the model panel's shared loader (int8 calibrated on the project's images).
Each runs once to warm up, then once timed; the agreement is core.metrics.compare_layers with A as
the reference (per class for semantic models, per instance of A for instance models).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from core.prediction_layer import result_layer


@dataclass
class Side:
    label: str
    result: object          # SemanticResult | InstanceResult
    latency_ms: float
    size_bytes: int


@dataclass
class CompareOutcome:
    a: Side
    b: Side
    rows: list[tuple[str, float]] = field(default_factory=list)  # (class or instance of A, agreement IoU)
    mean_iou: float = math.nan
    kind: str = "class"     # "class" (semantic) | "instance"


def label_of(name: str, int8: bool) -> str:
    return f"{name} ({'int8' if int8 else 'float'})"


def run_compare(a: tuple[str, bool], b: tuple[str, bool], rgb, score_threshold: float, calibration=None,
                progress=None, cancel=None) -> CompareOutcome:
    from core.metrics.compare import compare_layers
    from core.models.quantize import state_dict_bytes
    from gui.panels.model_jobs import load_predictor

    sides = []
    for k, (name, int8) in enumerate((a, b)):
        label = label_of(name, int8)
        if progress is not None:
            progress(2 * k, 4, f"loading {label}")
        predictor = load_predictor(name, int8, calibration, None, cancel)
        if progress is not None:
            progress(2 * k + 1, 4, f"running {label}")
        predictor.predict(rgb, score_threshold=score_threshold, cancel=cancel)  # warm-up: lazy init, caches
        result = predictor.predict(rgb, score_threshold=score_threshold, cancel=cancel)
        sides.append(Side(label, result, float(result.latency_ms), state_dict_bytes(predictor.model)))
    if progress is not None:
        progress(4, 4, "comparing")
    layer_a, layer_b = (result_layer(s.result, score_threshold) for s in sides)
    classes = sides[0].result.classes
    cmp = compare_layers(layer_a, layer_b, classes.ids())
    if cmp.semantic is not None:
        rows = [(classes.get(c).name if c in classes else str(c), v) for c, v in cmp.per_class.items()
                if not math.isnan(v)]
        kind = "class"
    else:
        names = {c.id: c.name for c in classes}
        rows = [(f"#{s.gt_id} {names.get(s.class_id, s.class_id)}", s.iou) for s in cmp.per_instance]
        kind = "instance"
    return CompareOutcome(sides[0], sides[1], rows, float(cmp.mean_iou), kind)
