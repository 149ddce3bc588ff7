"""IoU of an image's prediction against its corrected layer, kept current while the user edits.

Semantic: a core.metrics.ConfusionTracker updated from the edited window only. The GUI tells us
the dirty box, not the pixels before the edit, so we keep a snapshot of the corrected map and feed
the tracker (snapshot window -> live window), then refresh the snapshot window: cost = the window.
Instance: the IoU matrix row of an instance is recomputed only when its Mask object changed (masks
are immutable, every edit makes a new one); the optimal assignment is then redone on the cached
matrix, with exactly the rules of core.metrics.match_instances.

Results equal core.metrics.compare_layers on the same layers (tests check it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from maskwork.core.domain.annotation import ClassList, ImageAnnotation, Layer
from maskwork.core.editing.records import PixelChange
from maskwork.core.metrics.box_objects import split_box_only
from maskwork.core.metrics.instances import iou_matrix, panoptic_quality
from maskwork.core.metrics.tracker import ConfusionTracker

IOU_THRESHOLD = 0.5  # same default as core.metrics.compare_layers
DETAIL_TITLES = {"class": "pixels truth / pred", "instance": "matched prediction"}  # kind -> detail column
KIND_OF_TASK = {"semantic": "class", "instance": "instance"}  # the rows a project's images will have


@dataclass
class IoURow:
    key: int            # class id (semantic) or corrected instance id (instance)
    label: str
    iou: float
    detail: str = ""
    color: str = ""


class _WindowChange:
    """The one-window edit record ConfusionTracker.update expects."""

    def __init__(self, change: PixelChange) -> None:
        self._changes = [change]

    def label_map_changes(self) -> list[PixelChange]:
        return self._changes


class LiveIoU:
    """Built for one ImageAnnotation; `update(bbox)` after each edit of its corrected layer."""

    def __init__(self, ann: ImageAnnotation | None, classes: ClassList | None = None,
                 iou_threshold: float = IOU_THRESHOLD) -> None:
        self.ann, self.iou_threshold = ann, iou_threshold
        self.classes = classes if classes is not None and len(classes) else None
        self.ignore_index = self.classes.ignore_id() if self.classes is not None else None
        self.kind = ""            # "class" | "instance" once ready
        self.detail_title = ""
        self.empty_reason = ""
        self.mean_iou = math.nan
        self._rows: list[IoURow] = []
        self._build()

    @property
    def ready(self) -> bool:
        return not self.empty_reason

    def rows(self) -> list[IoURow]:
        return self._rows

    # ---- (re)build --------------------------------------------------------------------
    def _build(self) -> None:
        ann = self.ann
        self.empty_reason, self._rows, self.mean_iou = "", [], math.nan
        if ann is None:
            self.empty_reason = "no image"
        elif ann.prediction is None or ann.prediction.is_empty():
            self.empty_reason = "no prediction"
        elif ann.corrected.is_empty():
            self.empty_reason = "no correction"
        if self.empty_reason or ann is None or ann.prediction is None:
            self.kind = ""
            return
        gt, pred = ann.corrected, ann.prediction
        self._gt_map_id = id(gt.label_map)
        if gt.label_map is not None and pred.label_map is not None:
            self.kind, self.detail_title = "class", DETAIL_TITLES["class"]
            self._build_semantic(gt.label_map, pred.label_map)
        else:
            self.kind, self.detail_title = "instance", DETAIL_TITLES["instance"]
            self._inst_cache: dict[int, tuple[object, np.ndarray]] = {}
            self._refresh_instances(gt, pred)

    def _class_ids(self, *maps: np.ndarray) -> list[int]:
        ids = self.classes.ids() if self.classes is not None else sorted({int(v) for m in maps for v in np.unique(m)})
        return [c for c in ids if c != self.ignore_index]

    def _name(self, class_id: int) -> tuple[str, str]:
        if self.classes is not None and class_id in self.classes:
            info = self.classes.get(class_id)
            return info.name, info.color
        return f"class {class_id}", ""

    # ---- semantic ---------------------------------------------------------------------
    def _build_semantic(self, gt_map: np.ndarray, pred_map: np.ndarray) -> None:
        self._ids = self._class_ids(gt_map, pred_map)
        k = max([*self._ids, int(gt_map.max()), int(pred_map.max())]) + 1
        self._snapshot = gt_map.copy()
        self.tracker = ConfusionTracker(self._snapshot, pred_map, k, ignore_index=self.ignore_index, edited="gt")
        self._refresh_semantic()

    def _refresh_semantic(self) -> set[int]:
        scores = self.tracker.scores(self._ids)
        conf = self.tracker.confusion
        old = {r.key: r.iou for r in self._rows}
        self._rows = []
        for c in self._ids:
            name, color = self._name(c)
            truth = int(conf[c].sum()) if c < len(conf) else 0
            predicted = int(conf[:, c].sum()) if c < len(conf) else 0
            self._rows.append(IoURow(c, name, scores.per_class[c], f"{truth:,} / {predicted:,}", color))
        self.mean_iou = scores.mean_iou
        return {r.key for r in self._rows if not _same(old.get(r.key), r.iou)}

    def _update_semantic(self, live: np.ndarray, bbox) -> set[int] | None:
        h, w = live.shape
        if bbox is None:
            x0, y0, x1, y1 = 0, 0, w, h
        else:
            x0, y0 = max(int(bbox[0]), 0), max(int(bbox[1]), 0)
            x1, y1 = min(int(bbox[2]), w), min(int(bbox[3]), h)
        if x0 >= x1 or y0 >= y1:
            return set()
        after = live[y0:y1, x0:x1]
        if int(after.max()) >= self.tracker.num_classes:
            return None  # a class the matrix has no room for: rebuild
        before = self._snapshot[y0:y1, x0:x1]  # a view: the snapshot changes only after the update
        self.tracker.update(_WindowChange(PixelChange(x0, y0, before, after)))
        self._snapshot[y0:y1, x0:x1] = after
        return self._refresh_semantic()

    # ---- instances --------------------------------------------------------------------
    def _refresh_instances(self, corrected: Layer, prediction: Layer) -> set[int]:
        gt, pred, self.boxes = split_box_only(corrected.instances, prediction.instances,
                                              self.iou_threshold)  # box-only objects: no pixels to score
        pred_masks = [p.mask for p in pred]
        if getattr(self, "_pred_masks", None) != [id(m) for m in pred_masks]:
            self._inst_cache = {}  # another prediction: every row is stale
            self._pred_masks = [id(m) for m in pred_masks]
        stale = [inst for inst in gt
                 if inst.id not in self._inst_cache or self._inst_cache[inst.id][0] is not inst.mask]
        if stale:  # one call for all stale rows: the box test is vectorised over them
            fresh = iou_matrix([i.mask for i in stale], pred_masks) if pred else np.zeros((len(stale), 0))
            for inst, row in zip(stale, fresh):
                self._inst_cache[inst.id] = (inst.mask, row)
        changed: set[int] = {i.id for i in stale}
        rows = np.array([self._inst_cache[i.id][1] for i in gt], np.float64).reshape(len(gt), len(pred))
        for gone in set(self._inst_cache) - {i.id for i in gt}:
            del self._inst_cache[gone]
        old = {r.key: (r.iou, r.detail) for r in self._rows}
        pairs = _assign(rows, [i.class_id for i in gt], [p.class_id for p in pred], self.iou_threshold)
        pred_of = {g: (p, v) for g, p, v in pairs}
        self._rows = []
        for n, inst in enumerate(gt):
            name, color = self._name(inst.class_id)
            p, v = pred_of.get(n, (None, 0.0))
            detail = "missed" if p is None else _describe(pred[p])
            self._rows.append(IoURow(inst.id, f"#{inst.id} {name}", float(v), detail, color))
        self.matched, self.num_gt, self.num_pred = len(pairs), len(gt), len(pred)
        self.mean_iou = float(np.mean([r.iou for r in self._rows])) if self._rows else math.nan
        self.matched_iou = float(np.mean([v for _g, _p, v in pairs])) if pairs else math.nan
        self.pq = panoptic_quality([v for _g, _p, v in pairs], len(gt), len(pred))
        return changed | {r.key for r in self._rows if old.get(r.key) != (r.iou, r.detail)}

    # ---- public -----------------------------------------------------------------------
    def update(self, bbox=None) -> set[int] | None:
        """Follow an edit of the corrected layer inside bbox (x0, y0, x1, y1; None = anywhere).

        Returns the keys of rows whose value changed, or None when everything was rebuilt."""
        was_ready, kind, ann = self.ready, self.kind, self.ann
        # ready: an image with a prediction (an annotation's prediction is replaced, never taken away)
        if (not was_ready or ann is None or ann.prediction is None or ann.corrected.is_empty()
                or self._layer_kind_changed(ann.corrected, ann.prediction, kind)):
            self._build()
            return None
        if kind == "class" and ann.corrected.label_map is not None:  # (_layer_kind_changed checked the map)
            changed = self._update_semantic(ann.corrected.label_map, bbox)
            if changed is None:
                self._build()
            return changed
        return self._refresh_instances(ann.corrected, ann.prediction)

    def _layer_kind_changed(self, gt: Layer, prediction: Layer, kind: str) -> bool:
        if kind == "class":
            return gt.label_map is None or id(gt.label_map) != self._gt_map_id  # map replaced (accept, undo)
        return gt.label_map is not None and prediction.label_map is not None

    def headline(self) -> tuple[str, float]:
        """(name, value) of the image's one score. Instances: panoptic quality, which counts the
        unmatched objects on both sides (a mean over the true objects would not see an extra one).
        Classes: mean IoU, where wrongly predicted pixels already lower each class's IoU."""
        return ("PQ", self.pq) if self.kind == "instance" else ("mean IoU", self.mean_iou)

    def summary(self) -> str:
        if self.kind == "instance":
            total = self.num_gt + self.num_pred  # 0 when every object is a box (box_objects.py)
            rq = 2 * self.matched / total if total else math.nan  # the F1 of the matching
            boxes = f"; {self.boxes.summary()}" if self.boxes else ""
            return (f"SQ {_fmt(self.matched_iou)} x RQ {_fmt(rq)}; matched {self.matched}/{self.num_gt}, "
                    f"extra {self.num_pred - self.matched}{boxes}")
        return ""


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def _describe(inst) -> str:
    return f"#{inst.id}" + ("" if inst.score is None else f" (score {inst.score:.2f})")


def _same(a, b) -> bool:
    return a is not None and (a == b or (math.isnan(a) and math.isnan(b)))


def _assign(ious: np.ndarray, gt_classes, pred_classes, threshold: float) -> list[tuple[int, int, float]]:
    """One-to-one assignment as core.metrics.match_instances does it (same-class, >= threshold)."""
    score = ious.copy()
    if score.size:
        score[np.asarray(gt_classes)[:, None] != np.asarray(pred_classes)[None, :]] = 0.0
    score[score < threshold] = 0.0
    if not score.any():
        return []
    from scipy.optimize import linear_sum_assignment  # 1.6 s to import: only when matching

    rows, cols = linear_sum_assignment(score, maximize=True)
    return [(int(i), int(j), float(score[i, j])) for i, j in zip(rows, cols) if score[i, j] > 0]
