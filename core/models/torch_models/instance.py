"""Mask R-CNN inference that keeps memory at the size of the objects.

torchvision's postprocess pastes every 28x28 soft mask into a full-size image (100 x 12 MP floats
is 4.8 GB). Here the model's stages run one by one and each mask is pasted only inside its box
(the same expand-and-resize arithmetic as torchvision's paste_mask_in_image), then cropped.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models.detection.generalized_rcnn import GeneralizedRCNN
from torchvision.models.detection.roi_heads import expand_boxes, expand_masks
from torchvision.models.detection.transform import resize_boxes

from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.masks import Mask
from maskwork.core.models.catalog.specs import IMAGENET_MEAN, IMAGENET_STD, InputPolicy

SCORE_FLOOR = 0.05  # detections kept below the user's threshold so re-thresholding needs no new pass


def configure(model: torch.nn.Module, policy: InputPolicy, floor: float = SCORE_FLOOR) -> None:
    """Apply the spec's input policy and the score floor to a torchvision detector."""
    transform = getattr(model, "transform", None)
    if transform is not None:
        transform.min_size = (policy.min_size,)
        transform.max_size = policy.max_size
        if (policy.mean, policy.std) != (IMAGENET_MEAN, IMAGENET_STD):  # else keep the model's own
            transform.image_mean, transform.image_std = list(policy.mean), list(policy.std)
    heads = getattr(model, "roi_heads", None)
    if heads is not None:
        heads.score_thresh = floor
        heads.detections_per_img = policy.detections_per_img


def detect(model: torch.nn.Module, image: torch.Tensor) -> dict:
    """boxes (N, 4) xyxy at the original size, labels, scores, and masks: (N, 28, 28) soft masks
    (stage-by-stage path) or (N, H, W) full soft masks (any other module with torchvision's outputs)."""
    size = [int(image.shape[-2]), int(image.shape[-1])]
    if not isinstance(model, GeneralizedRCNN):  # e.g. a wrapped int8 model: its forward is all we have
        out = model([image])[0]
        return {**out, "masks": out["masks"][:, 0], "full": True}
    images, _ = model.transform([image])
    features = model.backbone(images.tensors)
    proposals, _ = model.rpn(images, features)
    dets, _ = model.roi_heads(features, proposals, images.image_sizes)
    det = dets[0]
    det["boxes"] = resize_boxes(det["boxes"], images.image_sizes[0], size)
    det["masks"] = det["masks"][:, 0]
    det["full"] = False
    return det


def paste_in_box(mask: torch.Tensor, box: torch.Tensor, height: int, width: int, threshold: float) -> Mask:
    """A 28x28 soft mask resized into its (expanded, integer) box, thresholded, clipped to the image."""
    padded, scale = expand_masks(mask[None, None], padding=1)
    x0, y0, x1, y1 = (int(v) for v in expand_boxes(box[None].float(), scale).to(torch.int64)[0])
    w, h = max(x1 - x0 + 1, 1), max(y1 - y0 + 1, 1)
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1 + 1, width), min(y1 + 1, height)
    if cx0 >= cx1 or cy0 >= cy1:
        return Mask.empty(height, width)
    soft = F.interpolate(padded, size=(h, w), mode="bilinear", align_corners=False)[0, 0]
    crop = soft[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] > threshold
    return Mask.from_crop(height, width, cx0, cy0, crop.cpu().numpy())


def to_masks(det: dict, height: int, width: int, threshold: float) -> list[Mask]:
    if det["full"]:
        return [Mask.from_full((m > threshold).cpu().numpy()) for m in det["masks"]]
    return [paste_in_box(m, b, height, width, threshold) for m, b in zip(det["masks"], det["boxes"])]


def instance_arrays(det: dict, classes: ClassList, height: int, width: int, mask_threshold: float):
    """(masks, boxes xywh float32, class ids, scores) sorted by score, without unknown classes or empty masks."""
    scores = det["scores"].float().cpu().numpy()
    labels = det["labels"].cpu().numpy().astype(np.int64)
    known = np.array([int(c) in classes for c in labels], bool)  # torchvision "N/A" indices are no class
    order = [i for i in np.argsort(-scores, kind="stable") if known[i]]
    det = {"full": det["full"], "masks": det["masks"][order], "boxes": det["boxes"][order]}
    masks = to_masks(det, height, width, mask_threshold)
    keep = [i for i, m in enumerate(masks) if not m.is_empty]
    xyxy = det["boxes"].float().cpu().numpy().reshape(-1, 4)[keep]
    xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1).astype(np.float32)
    idx = np.asarray(order, np.int64)[keep]
    return [masks[i] for i in keep], xywh, labels[idx], scores[idx].astype(np.float32)
