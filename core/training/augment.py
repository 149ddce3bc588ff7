"""Augmentation per task, on numpy arrays, with an explicit `random.Random` so runs are reproducible.

Semantic: random scale, crop (padding marked PAD so it carries no loss), flips, rot90, colour jitter.
Instance: scale (the predictor's resize times a random jitter), crop, flips, colour jitter; masks are
cropped/flipped/resized with the image and boxes recomputed from the masks, so they always agree.
"""
from __future__ import annotations

import random

import cv2
import numpy as np

from maskwork.core.training.datasets import Targets

PAD = 65535  # label of padded pixels: ignored by the loss


def colour_jitter(img: np.ndarray, rng: random.Random, strength: float = 0.2) -> np.ndarray:
    """Brightness, contrast and saturation changes of up to +-strength."""
    out = img.astype(np.float32)
    out = out * (1 + rng.uniform(-strength, strength)) + 255 * rng.uniform(-strength, strength) / 2
    mean = out.mean()
    out = (out - mean) * (1 + rng.uniform(-strength, strength)) + mean
    gray = out.mean(axis=2, keepdims=True)
    out = (out - gray) * (1 + rng.uniform(-strength, strength)) + gray
    return np.clip(out, 0, 255).astype(np.uint8)


def _window(h: int, w: int, size: int, rng: random.Random) -> tuple[int, int]:
    return rng.randint(0, max(0, h - size)), rng.randint(0, max(0, w - size))


def semantic_sample(img: np.ndarray, label: np.ndarray, size: int, rng: random.Random,
                    scale: tuple[float, float] = (1.0, 1.0), jitter: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """One random training crop (size x size); padded label pixels are PAD."""
    s = rng.uniform(*scale)
    h, w = label.shape
    # Crop a window of size/s in the original, then resize: cheaper than resizing the whole image.
    src = max(1, int(round(size / s)))
    y0, x0 = _window(h, w, src, rng)
    img_c: np.ndarray = img[y0:y0 + src, x0:x0 + src]
    lab_c: np.ndarray = label[y0:y0 + src, x0:x0 + src].astype(np.uint16)
    if s != 1.0:
        nh, nw = max(1, round(img_c.shape[0] * s)), max(1, round(img_c.shape[1] * s))
        img_c = cv2.resize(img_c, (nw, nh), interpolation=cv2.INTER_LINEAR)
        lab_c = cv2.resize(lab_c, (nw, nh), interpolation=cv2.INTER_NEAREST)
    out_img = np.zeros((size, size, 3), np.uint8)
    out_lab = np.full((size, size), PAD, np.uint16)
    ch, cw = min(size, lab_c.shape[0]), min(size, lab_c.shape[1])
    out_img[:ch, :cw], out_lab[:ch, :cw] = img_c[:ch, :cw], lab_c[:ch, :cw]
    if rng.random() < 0.5:
        out_img, out_lab = out_img[:, ::-1], out_lab[:, ::-1]
    if rng.random() < 0.5:
        out_img, out_lab = out_img[::-1], out_lab[::-1]
    k = rng.randrange(4)
    out_img, out_lab = np.rot90(out_img, k), np.rot90(out_lab, k)
    if jitter:
        out_img = colour_jitter(out_img, rng, jitter)
    return np.ascontiguousarray(out_img), np.ascontiguousarray(out_lab)


def boxes_from_masks(masks: np.ndarray) -> np.ndarray:
    """(N, 4) x0, y0, x1, y1 boxes (exclusive ends) of (N, H, W) masks."""
    boxes = np.zeros((len(masks), 4), np.float32)
    for i, m in enumerate(masks):
        ys, xs = np.nonzero(m.any(axis=1))[0], np.nonzero(m.any(axis=0))[0]
        boxes[i] = (xs[0], ys[0], xs[-1] + 1, ys[-1] + 1)
    return boxes


def instance_sample(img: np.ndarray, targets: Targets, size: int, rng: random.Random, base_scale: float = 1.0,
                    jitter_scale: tuple[float, float] = (0.8, 1.25), jitter: float = 0.15,
                    min_area: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A random crop for Mask R-CNN: (image, masks (N, size', size') bool, boxes (N, 4), class_ids).

    `base_scale` is the resize the predictor will apply (min_size / shorter side), so objects are
    seen at the size they have at inference. Crowd regions and objects cut below min_area are dropped.
    """
    s = base_scale * rng.uniform(*jitter_scale)
    h, w = img.shape[:2]
    src = max(1, int(round(size / s)))
    y0, x0 = _window(h, w, src, rng)
    img_c = img[y0:y0 + src, x0:x0 + src]
    keep = ~targets.iscrowd
    masks = targets.masks[keep][:, y0:y0 + src, x0:x0 + src]
    ids = targets.class_ids[keep]
    present = masks.reshape(len(masks), -1).any(axis=1) if len(masks) else np.zeros(0, bool)
    masks, ids = masks[present], ids[present]
    nh, nw = max(1, round(img_c.shape[0] * s)), max(1, round(img_c.shape[1] * s))
    if (nh, nw) != img_c.shape[:2]:
        img_c = cv2.resize(img_c, (nw, nh), interpolation=cv2.INTER_LINEAR)
        masks = np.stack([cv2.resize(m.astype(np.uint8), (nw, nh), interpolation=cv2.INTER_NEAREST) > 0
                          for m in masks]) if len(masks) else np.zeros((0, nh, nw), bool)
    if rng.random() < 0.5:
        img_c, masks = img_c[:, ::-1], masks[:, :, ::-1]
    if rng.random() < 0.5:
        img_c, masks = img_c[::-1], masks[:, ::-1]
    if jitter:
        img_c = colour_jitter(img_c, rng, jitter)
    big = masks.reshape(len(masks), -1).sum(axis=1) >= min_area if len(masks) else np.zeros(0, bool)
    masks, ids = np.ascontiguousarray(masks[big]), ids[big]
    return np.ascontiguousarray(img_c), masks, boxes_from_masks(masks), ids
