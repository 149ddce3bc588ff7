"""Detect, then segment again up close: the instance model that made a mask runs once more on the object's
box (enlarged by MARGIN on each side), so the object fills the model's input; the crop's detection of the
same class that overlaps the mask most replaces it, and the guided filter (edges.py) finishes the outline.

Why: a model sees a photo at its input size (the seed's YOLO11n-seg: 320 px, 80x80 prototypes), so a person
a third of the photo tall spans ~25 prototype cells and the mask's outline is as coarse; on the crop the
same person spans ~80. Measured on coco_sample people (bench/bench_refine.py): +0.06 mean IoU over the
model's masks, where the filter alone gains ~+0.01 (docs/BENCHMARKS.md "Refine"). It costs one forward pass
per object (~25 ms for YOLO11n int8 on 2 cores) and helps models whose objects are small in their input
for the model's taste; nuclei-instance found no nucleus in a blown-up crop (the mask is then kept, edges
applied) and a torch Mask R-CNN pass costs seconds per object, so it is a choice, not the default.
"""
from __future__ import annotations

import numpy as np

from maskwork.core.domain.masks import Mask
from maskwork.core.refine.edges import refine_edges

MARGIN = 0.25      # share of the box's width/height added on each side (0.1 / 0.25 / 0.5 tried on train people)
MIN_SCORE = 0.1    # detections of the crop considered
MIN_OVERLAP = 0.5  # IoU with the model's own mask in the crop (train people: 0.3 and 0.5 equal, 0.6 less; 0.5 keeps a
#                    neighbour in a crowd from taking the object's place)


def crop_window(mask: Mask, height: int, width: int, margin: float = MARGIN) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the mask's box enlarged by `margin` of its size (and 4 px) each side, in the image."""
    bx, by, bw, bh = mask.bbox
    mx, my = margin * bw + 4, margin * bh + 4
    return (max(0, int(bx - mx)), max(0, int(by - my)), min(width, int(np.ceil(bx + bw + mx))),
            min(height, int(np.ceil(by + bh + my))))


def refine_zoom(predictor, image: np.ndarray, mask: Mask, class_id: int | None = None, cancel=None) -> Mask:
    """`mask` segmented again by `predictor` on its enlarged box, then by the guided filter. `class_id`: the
    model's class of the object (None: any class). Without a matching detection: the filter alone."""
    if mask.is_empty:
        return mask
    height, width = image.shape[:2]
    x0, y0, x1, y1 = crop_window(mask, height, width)
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    mine = Mask.from_crop(y1 - y0, x1 - x0, 0, 0, mask.region(x0, y0, x1, y1))
    best, best_iou = None, MIN_OVERLAP
    for inst in predictor.predict(crop, MIN_SCORE, cancel=cancel).filtered(MIN_SCORE):
        if class_id is not None and inst.class_id != class_id:
            continue
        overlap = inst.mask.iou(mine)
        if overlap > best_iou:
            best, best_iou = inst.mask, overlap
    if best is not None:
        mask = Mask.from_crop(height, width, x0, y0, best.region(0, 0, x1 - x0, y1 - y0))
    return refine_edges(image, mask)
