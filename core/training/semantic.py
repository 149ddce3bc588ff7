"""Semantic segmentation pieces of training: batches, loss, tiled inference, confusion-based IoU.

Input convention (recorded in the checkpoint's "input"): RGB scaled to [0, 1] then normalised with
the ImageNet mean/std, as torchvision's segmentation weights expect; whole images are run in tiles.
"""
from __future__ import annotations

import random

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from maskwork.core.domain.errors import InputError
from maskwork.core.training.augment import PAD, semantic_sample
from maskwork.core.training.datasets import Item

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
IGNORE = -100


def _label_map(it: Item) -> np.ndarray:
    if it.label_map is None:
        raise InputError(f"{it.name} has no label map: a semantic model trains and is scored on label maps.")
    return it.label_map()


def to_tensor(rgb: np.ndarray, device="cpu") -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) normalised float tensor."""
    t = torch.from_numpy(np.require(rgb, np.uint8, ["C", "W"])).to(device).permute(2, 0, 1).float().div_(255)
    mean = torch.tensor(MEAN, device=device)[:, None, None]
    std = torch.tensor(STD, device=device)[:, None, None]
    return (t - mean) / std


def make_batch(items: list[Item], rng: random.Random, batch_size: int, crop: int, ignore_index: int | None,
               scale: tuple[float, float], device) -> tuple[torch.Tensor, torch.Tensor]:
    imgs, labels = [], []
    for _ in range(batch_size):
        it = items[rng.randrange(len(items))]
        img, lab = semantic_sample(it.image(), _label_map(it), crop, rng, scale=scale)
        target = lab.astype(np.int64)
        target[lab == PAD] = IGNORE
        if ignore_index is not None:
            target[lab == ignore_index] = IGNORE
        imgs.append(to_tensor(img))
        labels.append(torch.from_numpy(target))
    return torch.stack(imgs).to(device), torch.stack(labels).to(device)


def loss_fn(model, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    out = model(images)
    logits = out["out"] if isinstance(out, dict) else out
    if logits.shape[-2:] != targets.shape[-2:]:
        logits = F.interpolate(logits, size=targets.shape[-2:], mode="bilinear", align_corners=False)
    loss = F.cross_entropy(logits, targets, ignore_index=IGNORE)
    if isinstance(out, dict) and "aux" in out:  # torchvision aux head, weighted as in its references
        aux = F.interpolate(out["aux"], size=targets.shape[-2:], mode="bilinear", align_corners=False)
        loss = loss + 0.5 * F.cross_entropy(aux, targets, ignore_index=IGNORE)
    return loss


@torch.no_grad()
def predict_logits(model, rgb: np.ndarray, tile: int = 512, overlap: int = 64, device="cpu") -> torch.Tensor:
    """(C, H, W) logits of a whole image, run in overlapping tiles so memory stays bounded."""
    x = to_tensor(rgb, device)
    _, h, w = x.shape
    if h <= tile and w <= tile:
        return _forward(model, x[None])[0]
    step = tile - overlap
    out = None
    for y0 in _starts(h, tile, step):
        for x0 in _starts(w, tile, step):
            logits = _forward(model, x[None, :, y0:y0 + tile, x0:x0 + tile])[0]
            if out is None:
                out = torch.zeros((logits.shape[0], h, w), device=device)
            # keep each tile's centre: skip half the overlap on inner edges
            ty0 = 0 if y0 == 0 else overlap // 2
            tx0 = 0 if x0 == 0 else overlap // 2
            out[:, y0 + ty0:y0 + logits.shape[1], x0 + tx0:x0 + logits.shape[2]] = logits[:, ty0:, tx0:]
    assert out is not None  # _starts gives each side at least one tile
    return out


def _starts(n: int, tile: int, step: int) -> list[int]:
    starts = list(range(0, max(1, n - tile + 1), step))
    if starts[-1] + tile < n:
        starts.append(n - tile)
    return starts


def _forward(model, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    logits = out["out"] if isinstance(out, dict) else out
    if logits.shape[-2:] != x.shape[-2:]:
        logits = F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return logits


def predict_label_map(model, rgb: np.ndarray, tile: int = 512, device="cpu", scale: float = 1.0) -> np.ndarray:
    """Class ids at full resolution; with scale < 1 the model sees a shrunk image (as in training)."""
    if scale == 1.0:
        return predict_logits(model, rgb, tile, device=device).argmax(0).to(torch.uint8).cpu().numpy()
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    logits = predict_logits(model, small, tile, device=device)
    logits = F.interpolate(logits[None], size=(h, w), mode="bilinear", align_corners=False)[0]
    return logits.argmax(0).to(torch.uint8).cpu().numpy()


def confusion(truth: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) counts, rows = truth, cols = prediction; truth values outside [0, C) are skipped."""
    t = truth.astype(np.int64).ravel()
    p = pred.astype(np.int64).ravel()
    ok = (t >= 0) & (t < num_classes)
    return np.bincount(t[ok] * num_classes + p[ok], minlength=num_classes ** 2).reshape(num_classes, num_classes)


def iou_from_confusion(conf: np.ndarray, ignore_index: int | None = None) -> dict:
    """Per-class IoU and mean IoU over classes that appear (in truth or prediction), ignore class excluded.

    Pixels whose truth is the ignore class are dropped before scoring, so predicting anything there is free.
    """
    conf = conf.astype(np.float64).copy()
    if ignore_index is not None:
        conf[ignore_index, :] = 0
    tp = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - tp
    ious = {}
    for c in range(len(conf)):
        if c == ignore_index or union[c] == 0:
            continue
        ious[c] = float(tp[c] / union[c])
    miou = float(np.mean(list(ious.values()))) if ious else 0.0
    acc = float(tp.sum() / conf.sum()) if conf.sum() else 0.0
    return {"miou": miou, "iou": ious, "pixel_accuracy": acc}


def validate(model, items: list[Item], num_classes: int, ignore_index: int | None, tile: int, device,
             cancel=None, scale: float = 1.0) -> dict:
    model.eval()
    conf = np.zeros((num_classes, num_classes), np.int64)
    for it in items:
        if cancel is not None:
            cancel.check()
        pred = predict_label_map(model, it.image(), tile, device, scale)
        conf += confusion(_label_map(it), pred, num_classes)
    scores = iou_from_confusion(conf, ignore_index)
    scores["confusion"] = conf.tolist()
    return scores
