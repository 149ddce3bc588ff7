"""Ultralytics YOLO-seg: letterbox in, per-class NMS and masks at the original resolution out.

Same arithmetic as Ultralytics' LetterBox / non_max_suppression / process_mask_native (its
`retina_masks=True` path, masks at the image's resolution): the prototype logits are upsampled by 1, 2
or 4, the letterbox padding is cut on whole cells, the rest is stretched bilinearly to the image, cut
at the threshold and cropped to the box. Maskwork computes that only for the pixels inside each box
(yolo_masks.py), so a big image costs its objects' size; and only for the detections shown: the
others wait, as the few logits their box reads, until the score threshold comes down to them. Checked
pixel for pixel against ultralytics 8.4 (tests/unit/test_onnx_ultralytics.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskwork.core.domain.masks import Mask
from maskwork.core.models.lazy_masks import LazyMasks
from maskwork.core.models.onnx_models.yolo_masks import BoxLogits, box_logits, box_windows, native_grid

PAD_VALUE = 114  # Ultralytics' grey
NMS_IOU = 0.7  # Ultralytics' default for predict and val
MAX_DET = 300
MAX_NMS = 30000  # boxes handed to NMS at most, highest scores first (Ultralytics' max_nms)
MAX_WH = 7680.0  # class offset of the per-class NMS (Ultralytics' max_wh)
NMS_ROWS = 64  # boxes whose IoUs with the rest NMS computes at once


@dataclass
class Letterboxed:
    """The network input (1, 3, h, w) float32 RGB 0..1 and how it maps back to the image."""

    tensor: np.ndarray
    height: int  # original image size
    width: int
    sx: float  # resized width / original width
    sy: float
    left: int  # padding before the image in the input
    top: int


def letterbox(rgb: np.ndarray, target: tuple[int, int], stride: int, fixed: bool) -> Letterboxed:
    """Fit (h, w) into `target` keeping the aspect; pad with grey to the target (fixed input) or to the
    next multiple of `stride` (dynamic input, Ultralytics' minimal rectangle)."""
    h, w = rgb.shape[:2]
    r = min(target[0] / h, target[1] / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    if fixed:
        th, tw = target
    else:
        th, tw = -(-nh // stride) * stride, -(-nw // stride) * stride
    dw, dh = (tw - nw) / 2, (th - nh) / 2
    top, left = int(round(dh - 0.1)), int(round(dw - 0.1))
    img = rgb if (nh, nw) == (h, w) else cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((th, tw, 3), PAD_VALUE, np.uint8)
    canvas[top : top + nh, left : left + nw] = img
    tensor = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32) / np.float32(255.0)
    return Letterboxed(tensor, h, w, nw / w, nh / h, left, top)


def _nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float) -> np.ndarray:
    """Per-class NMS (classes offset apart, as Ultralytics does); `scores` already falling. Indices kept.

    Greedy, best first: the IoUs of up to NMS_ROWS boxes still alive against the rest are computed in one
    go (the same float32 arithmetic per pair as one box at a time), then walked in order."""
    b = boxes + (classes.astype(np.float32) * MAX_WH)[:, None]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    alive = np.ones(len(b), bool)
    keep: list[int] = []
    start = 0
    while (rows := np.flatnonzero(alive[start:])[:NMS_ROWS] + start).size:
        first = int(rows[0]) + 1  # columns first.. (a row only ever suppresses boxes after it)
        w = np.minimum(b[rows, 2, None], b[None, first:, 2]) - np.maximum(b[rows, 0, None], b[None, first:, 0])
        h = np.minimum(b[rows, 3, None], b[None, first:, 3]) - np.maximum(b[rows, 1, None], b[None, first:, 1])
        inter = np.clip(w, 0, None) * np.clip(h, 0, None)
        over = inter / (area[rows, None] + area[None, first:] - inter + 1e-9) > iou
        for r, i in enumerate(rows.tolist()):
            if alive[i]:
                keep.append(i)
                alive[i + 1 :] &= ~over[r, i + 1 - first :]
        start = int(rows[-1]) + 1
    return np.asarray(keep, np.int64)


def _candidates(pred: np.ndarray, num_classes: int, score_floor: float, end2end: bool):
    """(boxes xyxy in input pixels, scores, class indices, mask coefficients) of the detections, best first."""
    if end2end:  # NMS-free file: its own top K rows, best first (Ultralytics keeps those above conf, no NMS)
        rows = pred[0][pred[0][:, 4] >= score_floor][:MAX_DET]
        return (rows[:, :4].astype(np.float32), rows[:, 4].astype(np.float32), np.rint(rows[:, 5]).astype(np.int64),
                rows[:, 6:])
    p = pred[0]  # (4+C+P, A): anchors are columns; selecting them first keeps the work small
    cls_scores = p[4 : 4 + num_classes]
    scores = cls_scores.max(0)
    idx = np.flatnonzero(scores >= score_floor)
    idx = idx[np.argsort(-scores[idx], kind="stable")][:MAX_NMS]
    sel = np.ascontiguousarray(p[:, idx].T)  # (n, 4+C+P)
    cls = sel[:, 4 : 4 + num_classes].argmax(1)
    scores = scores[idx].astype(np.float32)
    cx, cy, bw, bh = sel[:, 0], sel[:, 1], sel[:, 2], sel[:, 3]
    xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1).astype(np.float32)
    keep = _nms(xyxy, scores, cls, NMS_IOU)[:MAX_DET]
    return xyxy[keep], scores[keep], cls[keep], sel[keep, 4 + num_classes :]


def decode(outputs: list[np.ndarray], lb: Letterboxed, num_classes: int, score_floor: float,
           mask_threshold: float = 0.5, end2end: bool = False, eager: float = 0.0):
    """(masks, boxes xywh float32, class indices 0.., scores) of one image, highest score first.

    outputs: [1, 4+C+P, A] predictions (end2end: [1, K, 6+P]) and [1, P, mh, mw] prototypes (either order).
    masks: a LazyMasks. Detections scoring >= `eager` get their masks now (dropped when empty, as is a box
    covering no pixel); the others keep the few logits their box reads and are decoded when first read
    (InstanceResult.keep drops them then if empty). The default decodes every mask now."""
    pred, proto = (outputs[0], outputs[1]) if outputs[0].ndim == 3 else (outputs[1], outputs[0])
    xyxy, scores, cls, coef = _candidates(pred, num_classes, score_floor, end2end)
    # input pixels -> image pixels: undo the padding, then the resize; clip to the image
    img = (xyxy - np.array([lb.left, lb.top, lb.left, lb.top], np.float32)) / np.array(
        [lb.sx, lb.sy, lb.sx, lb.sy], np.float32)
    img = np.clip(img, 0, [lb.width, lb.height, lb.width, lb.height]).astype(np.float32)
    logit_cut = float(np.log(mask_threshold / (1 - mask_threshold))) if 0 < mask_threshold < 1 else 0.0
    protos = proto[0].astype(np.float32, copy=False)
    coef = coef.astype(np.float32, copy=False)
    grid = native_grid(protos.shape[1], protos.shape[2], lb)
    masks: list[Mask | BoxLogits] = []
    kept = []
    for k, window in enumerate(box_windows(img, grid)):
        pending = box_logits(coef[k], protos, window, grid, logit_cut)
        if pending is None:  # the box covers no pixel
            continue
        item: Mask | BoxLogits = pending.decode() if scores[k] >= eager else pending
        if not (isinstance(item, Mask) and item.is_empty):
            masks.append(item)
            kept.append(k)
    xywh = img[kept].copy()
    xywh[:, 2:] -= xywh[:, :2]
    return LazyMasks(masks), xywh, cls[kept], scores[kept]
