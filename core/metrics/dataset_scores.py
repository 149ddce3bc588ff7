"""Per-image IoU of prediction vs correction over a whole project (the GUI's dataset table).

Only images with both a corrected layer and a prediction are scored. Each row is
core.metrics.compare_layers on that image; the dataset line sums confusions (semantic) or pools
instances, as dataset metrics should (never a mean of per-image means).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from maskwork.core.annotation import Status
from maskwork.core.errors import InputError
from maskwork.core.metrics.compare import compare_layers
from maskwork.core.metrics.semantic import SemanticScores
from maskwork.core.progress import check, report
from maskwork.core.text import plural


@dataclass
class ImageScore:
    name: str
    mean_iou: float
    per_class: dict[int, float] = field(default_factory=dict)
    matched: int | None = None
    missed: int | None = None
    extra: int | None = None


@dataclass
class DatasetReport:
    scores: list[ImageScore]
    skipped: int                 # images without a correction or without a prediction
    dataset_iou: float = math.nan  # semantic: mIoU of the summed confusion; instance: mean over all instances
    errors: list[str] = field(default_factory=list)  # images that could not be compared, with the reason

    def summary(self) -> str:
        if not self.scores:
            return (f"No image has both a prediction and a correction yet ({plural(self.skipped, 'image')} skipped): "
                    "run a model, then accept or correct its output.")
        iou = "-" if math.isnan(self.dataset_iou) else f"{self.dataset_iou:.3f}"
        text = (f"{plural(len(self.scores), 'image')} scored, dataset IoU {iou}; {self.skipped} without "
                "prediction/correction.")
        if self.errors:
            text += f" {len(self.errors)} could not be compared: " + "; ".join(self.errors[:3])
        return text


def scorable(ann) -> bool:
    return (ann.prediction is not None and not ann.prediction.is_empty() and not ann.corrected.is_empty()
            and ann.status == Status.CORRECTED)


def score_project(project, names: list[str] | None = None, progress=None, cancel=None) -> DatasetReport:
    names = list(project.image_names()) if names is None else list(names)
    return score_annotations(((n, project.annotation(n)) for n in names), project.classes.ids(), len(names),
                             progress, cancel, ignore_index=project.classes.ignore_id())


def score_annotations(items, class_ids, total: int, progress=None, cancel=None,
                      ignore_index: int | None = None) -> DatasetReport:
    """Score (name, ImageAnnotation) pairs; the GUI hands over annotations it loaded itself, so the
    project's annotation cache is only ever touched from one thread."""
    class_ids = [c for c in class_ids if c != ignore_index]  # e.g. 0 "unlabeled" is not scored
    scores, skipped, errors = [], 0, []
    confusion, per_instance = None, []
    for n, (name, ann) in enumerate(items):
        check(cancel)
        if not scorable(ann):
            skipped += 1
        else:
            try:
                row, conf, ious = _score_image(name, ann, class_ids, ignore_index)
            except InputError as exc:  # one bad image must not hide the others' scores
                errors.append(f"{name}: {exc}")
            else:
                scores.append(row)
                per_instance.extend(ious)
                if conf is not None:
                    confusion = conf if confusion is None else _add(confusion, conf)
        report(progress, n + 1, total, name)
    out = DatasetReport(scores, skipped, errors=errors)
    if confusion is not None:
        ids = [c for c in class_ids if c < len(confusion)]
        out.dataset_iou = SemanticScores.from_confusion(confusion, ids).mean_iou
    elif per_instance:
        out.dataset_iou = float(np.mean(per_instance))
    return out


def _score_image(name: str, ann, class_ids, ignore_index=None) -> tuple[ImageScore, np.ndarray | None, list[float]]:
    """One table row, plus what the dataset line needs: the confusion (semantic) or per-instance IoUs."""
    cmp = compare_layers(ann.corrected, ann.prediction, class_ids, ignore_index=ignore_index)
    row = ImageScore(name, cmp.mean_iou, dict(cmp.per_class))
    ious: list[float] = []
    if cmp.instances is not None:
        m = cmp.instances
        row.matched, row.missed, row.extra = m.tp, len(m.unmatched_gt), len(m.unmatched_pred)
        ious = [float(v) for v in m.per_gt_iou]
    return row, (cmp.semantic.confusion if cmp.semantic is not None else None), ious


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum two confusion matrices that may differ in size (an image used a higher class id)."""
    k = max(len(a), len(b))
    out = np.zeros((k, k), np.int64)
    out[: len(a), : len(a)] += a
    out[: len(b), : len(b)] += b
    return out
