"""Box-only objects in mask scores (core/editing/box_ops.py, ADR 0013): a box has no pixels to compare.

They are left out of mask IoU and instance matching, on both sides. A predicted object that matches
a box-only truth object by box IoU (>= the matching threshold, same class) is left out with it, as
COCO leaves detections on crowd regions out: the model found what the box marks, but how well its
pixels fit cannot be known until the box gets a mask. `BoxTally` says how many were left out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskwork.core.domain.annotation import Instance
from maskwork.core.editing.box_ops import is_box_only


@dataclass
class BoxTally:
    boxes: int = 0           # box-only truth objects left out
    found: int = 0           # of those, matched by a prediction's box (that prediction is left out too)
    predicted_boxes: int = 0  # box-only predictions left out

    def __bool__(self) -> bool:
        return bool(self.boxes or self.predicted_boxes)

    def summary(self) -> str:
        if not self:
            return ""
        text = f"{self.boxes} box-only object{'s' if self.boxes != 1 else ''} not scored ({self.found} found)"
        return text + (f", {self.predicted_boxes} predicted boxes" if self.predicted_boxes else "")


def box_iou(a, b) -> float:
    """IoU of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def split_box_only(gt: list[Instance], pred: list[Instance],
                   iou_threshold: float = 0.5) -> tuple[list[Instance], list[Instance], BoxTally]:
    """(truth, prediction) to score by mask, and what was left out. The same lists come back when
    there is no box-only object (the usual case costs one pass over the objects)."""
    gt_boxes = [g for g in gt if is_box_only(g)]
    pred_boxes = [p for p in pred if is_box_only(p)]
    if not gt_boxes and not pred_boxes:
        return gt, pred, BoxTally()
    masked_pred = [p for p in pred if not p.mask.is_empty]
    used_gt, used_pred = set(), set()
    if gt_boxes and masked_pred:
        ious = np.array([[box_iou(g.bbox, p.bbox) if g.class_id == p.class_id else 0.0 for p in masked_pred]
                         for g in gt_boxes])
        for k in np.argsort(-ious, axis=None, kind="stable"):  # greedy, best pairs first
            i, j = divmod(int(k), len(masked_pred))
            if ious[i, j] < iou_threshold:
                break
            if i not in used_gt and j not in used_pred:
                used_gt.add(i)
                used_pred.add(j)
    left_out = {id(masked_pred[j]) for j in used_pred}
    tally = BoxTally(boxes=len(gt_boxes), found=len(used_gt), predicted_boxes=len(pred_boxes))
    return ([g for g in gt if not is_box_only(g)],
            [p for p in pred if not is_box_only(p) and id(p) not in left_out], tally)
