"""Float vs int8 on the same image: results, latency, size, and how much the two agree.

    c = compare("lraspp_mobilenet_v3_large", rgb)            # builds both (int8 from the cache)
    c = compare((float_predictor, int8_predictor), rgb)
    c.speedup, c.size_ratio, c.mean_agreement, c.per_class / c.per_instance

Agreement treats the float result as the reference: IoU per class (semantic) or, for instances,
the IoU of each float instance with its int8 match (0 when int8 lost it), matched one-to-one by
mask IoU (core.metrics.match_instances).
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

import numpy as np

from maskwork.core.domain.progress import CancelToken, ProgressFn, check
from maskwork.core.models.results import InstanceResult, SemanticResult, TimedRun


@dataclass
class Comparison:
    float_run: TimedRun
    int8_run: TimedRun
    task: str
    mean_agreement: float  # mean IoU of int8 vs float (classes present / float instances)
    per_class: dict[int, float] | None = None  # semantic: class id -> IoU (nan: absent in both)
    per_instance: list[float] | None = None  # instance: IoU of each float instance with its int8 match
    extra: dict = field(default_factory=dict)

    @property
    def speedup(self) -> float:
        return self.float_run.latency_ms / self.int8_run.latency_ms if self.int8_run.latency_ms else math.nan

    @property
    def size_ratio(self) -> float:
        """int8 size / float size."""
        return self.int8_run.size_bytes / self.float_run.size_bytes if self.float_run.size_bytes else math.nan

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "float": {"latency_ms": self.float_run.latency_ms, "size_bytes": self.float_run.size_bytes},
            "int8": {"latency_ms": self.int8_run.latency_ms, "size_bytes": self.int8_run.size_bytes},
            "speedup": self.speedup, "size_ratio": self.size_ratio, "mean_agreement": self.mean_agreement,
            "per_class": {str(k): v for k, v in (self.per_class or {}).items()} or None,
            "per_instance": self.per_instance, **self.extra,
        }

    def summary(self) -> str:
        mb = 1024 * 1024
        return (f"float {self.float_run.latency_ms:.0f} ms, {self.float_run.size_bytes / mb:.1f} MB | "
                f"int8 {self.int8_run.latency_ms:.0f} ms, {self.int8_run.size_bytes / mb:.1f} MB | "
                f"speed-up x{self.speedup:.2f}, size x{self.size_ratio:.2f}, "
                f"agreement {self.mean_agreement * 100:.1f}% mean IoU")


def semantic_agreement(ref: SemanticResult, other: SemanticResult) -> tuple[dict[int, float], float]:
    """IoU of `other`'s labels with the reference's, per class and mean, over the classes the reference finds on the
    image. A class only `other` predicts is not averaged in as 0 (2 stray int8 pixels of a class the float model
    never predicted made 99.8 % identical maps read "0.78"); the pixels it took still lower the IoU of the classes
    they belong to in the reference."""
    from maskwork.core.metrics import semantic_scores

    found = [c for c in ref.classes.ids() if (ref.label_map == c).any()] or ref.classes.ids()
    scores = semantic_scores(ref.label_map, other.label_map, found, num_classes=max(ref.classes.ids()) + 1)
    return scores.per_class, scores.mean_iou


def instance_agreement(ref: InstanceResult, other: InstanceResult, score_threshold: float | None = None,
                       iou_threshold: float = 0.5) -> tuple[list[float], float, dict]:
    """IoU of every kept float instance with its int8 match; mean is 1.0 when both found nothing."""
    from maskwork.core.metrics import match_instances

    a, b = ref.keep(score_threshold), other.keep(score_threshold)
    match = match_instances([ref.masks[i] for i in a], [other.masks[i] for i in b], iou_threshold,
                            [int(ref.class_ids[i]) for i in a], [int(other.class_ids[i]) for i in b])
    per = [float(v) for v in match.per_gt_iou]
    if not len(a) and not len(b):
        mean = 1.0
    else:  # int8-only detections count as disagreement too
        mean = float(sum(per) / (len(a) + len(match.unmatched_pred)))
    return per, mean, {"float_instances": len(a), "int8_instances": len(b), "f1": match.f1}


def in_classes_of(ref, other):
    """`other` in `ref`'s class ids, matched by name (two different models number their classes their own
    way); a refusal in one sentence when they share no class at all."""
    if other.classes == ref.classes:
        return other
    from maskwork.core.domain.errors import InputError
    from maskwork.core.models.class_map import ClassMap
    from maskwork.core.models.cross_task import map_classes

    cmap = ClassMap(other.classes, ref.classes)
    if not cmap.matched:
        raise InputError("the two models share no class name (A: " + ", ".join(ref.classes.names()[:6])
                         + "; B: " + ", ".join(other.classes.names()[:6]) + "): compare models that "
                         "segment the same classes, or a model with its own int8 twin.")
    return map_classes(other, cmap)


HERE = ("cached", "bundled", "user")  # model states that run without a download (core.models.catalog.availability)


def _names(classes) -> set[str]:
    return {c.name.strip().lower() for c in classes or [] if c.id != 0}


def compare_partner(name: str, entries) -> tuple[str, bool] | None:
    """What side B shows next to `name` on side A: its int8 twin when it has one to switch to; else (an int8-only
    file, a model without int8) another model of the same task that shares classes with it, one on this computer
    first, then the one sharing most classes; None when there is none (the window then says what to do).
    `entries`: the model list (name, task, state, classes, int8: core.models.int8.dispatch.Int8Support or None)."""
    own = next((e for e in entries if e.name == name), None)
    if own is None:
        return None
    if own.int8 is None or own.int8.switchable:
        return name, True
    wanted = _names(own.classes)
    others = [(e, len(wanted & _names(e.classes))) for e in entries if e.name != name and e.task == own.task]
    others = [(e, shared) for e, shared in others if shared]
    if not others:
        return None
    best, _shared = min(others, key=lambda pair: (pair[0].state not in HERE, -pair[1]))
    return best.name, best.int8 is not None and best.int8.mode == "only"


def _timed(predictor, image: np.ndarray, repeats: int, cancel: CancelToken | None, **kw):
    runs = []
    for _ in range(max(1, repeats)):
        check(cancel)
        runs.append(predictor.predict(image, **kw))
    return runs[-1], statistics.median(r.latency_ms for r in runs)


def predictor_pair(spec_or_name, calibration_images=None, cache_dir=None, progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None, num_images: int | None = None):
    """Float and int8 predictors of one model (torch: sharing the float weights; ONNX: its int8 file or twin)."""
    from maskwork.core.models.int8.dispatch import int8_of
    from maskwork.core.models.predict import Predictor

    fp = Predictor(spec_or_name, progress=progress, cancel=cancel, device="cpu")
    return fp, int8_of(fp, calibration_images, cache_dir=cache_dir, progress=progress, cancel=cancel,
                       num_images=num_images)


def size_bytes(predictor) -> int:
    """What the user ships: an ONNX predictor's file, a torch model's saved state dict."""
    own = getattr(predictor, "size_bytes", None)
    if own is not None:
        return int(own)
    from maskwork.core.models.int8.quantize import state_dict_bytes

    return state_dict_bytes(predictor.model)


def compare(spec_or_predictor_pair, image: np.ndarray, *, score_threshold: float = 0.5, repeats: int = 1,
            warmup: bool = True, calibration_images=None, cache_dir=None, progress: ProgressFn | None = None,
            cancel: CancelToken | None = None) -> Comparison:
    """Run float and int8 on `image`; latency is the median of `repeats` runs (after one warm-up)."""
    if isinstance(spec_or_predictor_pair, tuple):
        fp, qp = spec_or_predictor_pair
    else:
        fp, qp = predictor_pair(spec_or_predictor_pair, calibration_images, cache_dir, progress, cancel)
    kw = {"score_threshold": score_threshold} if fp.task == "instance" else {}
    if warmup:  # first call pays for allocator and kernel selection, not the model
        fp.predict(image, **kw)
        qp.predict(image, **kw)
    fr, f_ms = _timed(fp, image, repeats, cancel, **kw)
    qr, q_ms = _timed(qp, image, repeats, cancel, **kw)
    f_run = TimedRun(fr, f_ms, size_bytes(fp), "float")
    q_run = TimedRun(qr, q_ms, size_bytes(qp), "int8")
    qr = in_classes_of(fr, qr)
    if fp.task == "semantic":
        per_class, mean = semantic_agreement(fr, qr)
        return Comparison(f_run, q_run, "semantic", mean, per_class=per_class)
    per, mean, extra = instance_agreement(fr, qr, score_threshold)
    return Comparison(f_run, q_run, "instance", mean, per_instance=per, extra=extra)
