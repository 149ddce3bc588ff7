"""Per-image IoU of prediction vs correction over a whole project (the GUI's dataset table).

Only images with both a corrected layer and a prediction are scored. Each row is
core.metrics.compare_layers on that image; the dataset line sums confusions (semantic) or pools
instances, as dataset metrics should (never a mean of per-image means). The headline is the IoU panel's
(LiveIoU.headline): mean IoU for label maps, PQ (panoptic quality) for instances, so both tabs speak
of one score.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from maskwork.core.domain.annotation import Status
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import check, report
from maskwork.core.domain.text import plural
from maskwork.core.metrics.compare import compare_layers
from maskwork.core.metrics.instances import InstanceMatch, panoptic_quality
from maskwork.core.metrics.semantic import SemanticScores


@dataclass
class ImageScore:
    name: str
    mean_iou: float
    per_class: dict[int, float] = field(default_factory=dict)
    matched: int | None = None
    missed: int | None = None
    extra: int | None = None
    pq: float | None = None  # instances: panoptic quality, the headline of the image

    @property
    def headline(self) -> float:
        """The image's score under the dataset's headline (PQ for instances, else mean IoU)."""
        return self.pq if self.pq is not None else self.mean_iou


@dataclass
class DatasetReport:
    scores: list[ImageScore]
    skipped: int                 # images without a correction or without a prediction
    # semantic: mean IoU of the summed confusion; instance: PQ of every image's objects pooled
    dataset_iou: float = math.nan
    errors: list[str] = field(default_factory=list)  # images that could not be compared, with the reason
    metric: str = "mean IoU"     # the name of dataset_iou and of each row's headline: "mean IoU" or "PQ"

    def summary(self) -> str:
        if not self.scores:
            return (f"No image has both a prediction and a correction yet ({plural(self.skipped, 'image')} skipped): "
                    "run a model, then accept or correct its output.")
        iou = "-" if math.isnan(self.dataset_iou) else f"{self.dataset_iou:.3f}"
        text = (f"{plural(len(self.scores), 'image')} scored, dataset {self.metric} {iou}; {self.skipped} without "
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
    matched: list[float] = []
    confusion, objects = None, [0, 0]  # objects: true and predicted, over all images
    for n, (name, ann) in enumerate(items):
        check(cancel)
        if not scorable(ann):
            skipped += 1
        else:
            try:
                row, conf, match = _score_image(name, ann, class_ids, ignore_index)
            except InputError as exc:  # one bad image must not hide the others' scores
                errors.append(f"{name}: {exc}")
            else:
                scores.append(row)
                if match is not None and conf is None:
                    matched.extend(v for _g, _p, v in match.pairs)
                    objects[0] += match.num_gt
                    objects[1] += match.num_pred
                if conf is not None:
                    confusion = conf if confusion is None else _add(confusion, conf)
        report(progress, n + 1, total, name)
    out = DatasetReport(scores, skipped, errors=errors)
    if confusion is not None:
        ids = [c for c in class_ids if c < len(confusion)]
        out.dataset_iou = SemanticScores.from_confusion(confusion, ids).mean_iou
    elif any(objects):
        out.dataset_iou, out.metric = panoptic_quality(matched, *objects), "PQ"
    return out


def _score_image(name: str, ann, class_ids, ignore_index=None) -> tuple[ImageScore, np.ndarray | None,
                                                                        InstanceMatch | None]:
    """One table row, plus what the dataset line needs: the confusion (semantic) or the instance match."""
    cmp = compare_layers(ann.corrected, ann.prediction, class_ids, ignore_index=ignore_index)
    row = ImageScore(name, cmp.mean_iou, dict(cmp.per_class))
    m = cmp.instances
    if m is not None:
        row.matched, row.missed, row.extra = m.tp, len(m.unmatched_gt), len(m.unmatched_pred)
        if cmp.semantic is None:
            row.pq = m.panoptic_quality
    return row, (cmp.semantic.confusion if cmp.semantic is not None else None), m


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum two confusion matrices that may differ in size (an image used a higher class id)."""
    k = max(len(a), len(b))
    out = np.zeros((k, k), np.int64)
    out[: len(a), : len(a)] += a
    out[: len(b), : len(b)] += b
    return out
