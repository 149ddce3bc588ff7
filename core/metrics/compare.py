"""Truth layer vs predicted layer, as the GUI's IoU panel shows it."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from maskwork.core.domain.annotation import Layer
from maskwork.core.domain.errors import InputError
from maskwork.core.metrics.box_objects import BoxTally, split_box_only
from maskwork.core.metrics.instances import InstanceMatch, match_instances
from maskwork.core.metrics.semantic import SemanticScores, semantic_scores


@dataclass
class InstanceScore:
    gt_id: int
    class_id: int
    iou: float  # 0.0 when no prediction matched
    pred_id: int | None


@dataclass
class LayerComparison:
    semantic: SemanticScores | None = None
    instances: InstanceMatch | None = None
    per_instance: list[InstanceScore] = field(default_factory=list)
    # class id -> IoU: semantic IoU when label maps are compared, else the mean IoU of that class's
    # true instances (0 for missed ones)
    per_class: dict[int, float] = field(default_factory=dict)
    mean_iou: float = math.nan  # semantic mean IoU, else mean over true instances (misses count 0)
    boxes: BoxTally = field(default_factory=BoxTally)  # box-only objects left out (core.metrics.box_objects)


def compare_layers(gt: Layer, pred: Layer, class_ids: Iterable[int], iou_threshold: float = 0.5,
                   ignore_index: int | None = None) -> LayerComparison:
    """Compare label maps (when both layers have one) and instances (when either has some)."""
    class_ids = list(class_ids)
    out = LayerComparison()
    if gt.label_map is not None and pred.label_map is not None:
        k = max([*class_ids, int(gt.label_map.max()), int(pred.label_map.max())]) + 1
        out.semantic = semantic_scores(gt.label_map, pred.label_map, class_ids, ignore_index, num_classes=k)
        out.per_class, out.mean_iou = dict(out.semantic.per_class), out.semantic.mean_iou
    if gt.instances or pred.instances:
        gt_inst, pred_inst, out.boxes = split_box_only(gt.instances, pred.instances, iou_threshold)
        gt, pred = Layer(gt.label_map, gt_inst), Layer(pred.label_map, pred_inst)  # boxes have no pixels to score
        shapes = {i.mask.shape for i in gt.instances + pred.instances}
        if len(shapes) > 1:
            raise InputError(f"truth and prediction instances come from images of different sizes {sorted(shapes)}")
        match = match_instances(
            [i.mask for i in gt.instances], [i.mask for i in pred.instances], iou_threshold,
            [i.class_id for i in gt.instances], [i.class_id for i in pred.instances])
        out.instances = match
        pred_of = {g: p for g, p, _ in match.pairs}
        out.per_instance = [
            InstanceScore(inst.id, inst.class_id, float(match.per_gt_iou[n]),
                          pred.instances[pred_of[n]].id if n in pred_of else None)
            for n, inst in enumerate(gt.instances)
        ]
        if out.semantic is None:
            for c in class_ids:
                vals = [s.iou for s in out.per_instance if s.class_id == c]
                has_pred = any(i.class_id == c for i in pred.instances)
                out.per_class[c] = float(np.mean(vals)) if vals else (0.0 if has_pred else math.nan)
            out.mean_iou = float(match.per_gt_iou.mean()) if len(gt.instances) else math.nan
    return out
