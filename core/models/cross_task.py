"""A model's result in a project's terms: the project's class ids, and the project's task.

- classes: matched by name (core.models.class_map); unmatched ones ignored or added to the project.
- instance model on a semantic project: `PaintedInstances`, an InstanceResult whose layer is a label
  map with its kept masks painted lowest score first (higher scores on top); the score threshold still
  re-filters without a forward pass.
- semantic model on an instance project: one instance per connected component of each class
  (cv2.connectedComponents, 8-connected), score = the component's mean confidence.
Both are predictions the user accepts as usual.
"""
from __future__ import annotations

import cv2
import numpy as np

from maskwork.core.domain.annotation import UNLABELED, ClassInfo, ClassList, Layer
from maskwork.core.domain.masks import Mask
from maskwork.core.models.class_map import ClassMap
from maskwork.core.models.results import InstanceResult, Result, SemanticResult


def label_dtype(classes: ClassList):
    return np.uint16 if max([*classes.ids(), 0]) > 255 else np.uint8


class PaintedInstances(InstanceResult):
    """Instance detections shown as a semantic label map (for a semantic project)."""

    def paint(self, score_threshold: float | None = None) -> np.ndarray:
        keep = self.keep(score_threshold)  # decodes down to the threshold; what is under it may wait
        order = keep[np.argsort(self._scores[keep], kind="stable")]  # lowest first: higher scores end on top
        label_map = np.zeros((self.height, self.width), label_dtype(self.classes))
        for i in order:
            m = self._masks[i]
            if not m.is_empty:
                label_map[m.y0:m.y1, m.x0:m.x1][m.crop] = int(self._class_ids[i])
        return label_map

    def to_layer(self, score_threshold: float | None = None) -> Layer:
        return Layer(label_map=self.paint(score_threshold))


def painted(result: InstanceResult) -> PaintedInstances:
    out = result.relabelled(_keep_all, result.classes, as_type=PaintedInstances)
    assert isinstance(out, PaintedInstances)
    return out


def _keep_all(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return ids, np.ones(len(ids), bool)


def components(result: SemanticResult, classes: ClassList | None = None) -> InstanceResult:
    """One instance per 8-connected component of each class (0 skipped), highest mean confidence first."""
    lm = result.label_map
    h, w = lm.shape
    conf = result.confidence if result.confidence is not None else np.ones(lm.shape, np.float32)
    masks, boxes, ids, scores = [], [], [], []
    present = np.flatnonzero(np.bincount(lm.ravel().astype(np.int64)))
    for c in (int(v) for v in present if v != UNLABELED):
        n, labels, stats, _ = cv2.connectedComponentsWithStats((lm == c).astype(np.uint8), connectivity=8)
        sums = np.bincount(labels.ravel(), weights=conf.ravel().astype(np.float64), minlength=n)
        for k in range(1, n):
            x, y, bw, bh, area = (int(v) for v in stats[k])
            masks.append(Mask.from_crop(h, w, x, y, labels[y:y + bh, x:x + bw] == k))
            boxes.append((x, y, bw, bh))
            ids.append(c)
            scores.append(sums[k] / area)
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    return InstanceResult([masks[i] for i in order], np.asarray(boxes, np.float32).reshape(-1, 4)[order],
                          np.asarray(ids, np.int64)[order], np.asarray(scores, np.float32)[order],
                          classes if classes is not None else result.classes, h, w, result.latency_ms)


def map_classes(result: Result, cmap: ClassMap) -> Result:
    """The result in the target's class ids; classes without a match become 0 / are dropped."""
    if isinstance(result, SemanticResult):
        lm = cmap.apply_label_map(result.label_map).astype(label_dtype(cmap.target), copy=False)
        return SemanticResult(lm, result.confidence, cmap.target, result.latency_ms)
    return result.relabelled(cmap.apply_class_ids, cmap.target)


def fit_result(result: Result, classes: ClassList, task: str, unknown: str = "ignore"
               ) -> tuple[Result, list[ClassInfo]]:
    """(the result in the project's classes and task, classes added to `classes`).

    unknown="add" adds the model's unmatched classes to `classes` in place (the project's list)."""
    if unknown not in ("ignore", "add"):
        raise ValueError(f"unknown classes: {unknown!r}, expected 'ignore' or 'add'")
    cmap = ClassMap(result.classes, classes)
    added = cmap.add_unmatched() if unknown == "add" else []
    out = result if cmap.is_identity() and result.classes == classes else map_classes(result, cmap)
    if task == "semantic" and isinstance(out, InstanceResult) and not isinstance(out, PaintedInstances):
        out = painted(out)
    elif task == "instance" and isinstance(out, SemanticResult):
        out = components(out, classes)
    return out, added
