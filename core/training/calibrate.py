"""Decision offsets of a semantic model, tuned for mean IoU on training images (core.training.loop).

A model trained with cross-entropy is calibrated for pixel accuracy, not for IoU: the class with the larger
logit wins, and for IoU that rule draws the borders in the wrong place. nuclei-semantic predicted nuclei ~0.75
logits too eagerly on its own training images and on nuclei val alike (mean IoU 0.849 -> 0.863 on 120 training
images, 0.853 -> 0.861 on 80 val images with the same offset; docs/BENCHMARKS.md "Training on corrected
images"). `fit` finds per-class offsets added to the logits that maximise mean IoU over the pixels of a set of
images (coordinate ascent on a grid, the same pooled mean IoU as core.training.semantic scores with), and
`shift_bias` adds them to the bias of the layer that produces the logits, so the model file itself predicts
with them: the window, the CLI, int8 and ONNX exports need nothing new.

Only classes covering at least `MIN_SHARE` of the calibration pixels move: lowering a class the images do not
show would always raise their mean IoU (the class leaves the union) and erase it everywhere else.
"""
from __future__ import annotations

import random

import numpy as np
import torch

from maskwork.core.training import semantic as sem

GRID = np.round(np.arange(-2.0, 2.0001, 0.125), 3)  # offsets tried per class, in logits
ROUNDS = 3
MIN_SHARE = 0.005      # a class moves only when it covers this share of the calibration pixels
MIN_IMAGES = 16        # fewer distinct training images: no offsets (4 aerial images: -0.014 on the other 4)
MIN_GAIN = 0.001       # offsets that gain less mean IoU than this on the calibration images are not kept
SAMPLE_SHARE = 0.125    # of each image's pixels (a fixed draw)
MAX_PIXELS = 1_500_000  # at most, over all images: the search stays a few seconds

# architecture -> the layer whose bias adds to every logit (torchvision's heads: the last conv of `classifier`)
LOGIT_LAYERS = {"unet_small": "head", "unet_tiny": "head", "deeplabv3_resnet50": "classifier.4",
                "deeplabv3_mobilenet_v3_large": "classifier.4", "fcn_resnet50": "classifier.4",
                "lraspp_mobilenet_v3_large": "classifier.high_classifier"}


def supported(arch: str) -> bool:
    return arch in LOGIT_LAYERS


@torch.no_grad()
def sample_logits(model, items, tile: int, scale: float, ignore_index, seed: int, cancel=None,
                  device="cpu") -> tuple[np.ndarray, np.ndarray]:
    """(N, C) float32 logits and (N,) truth of a fixed random sample of the items' scored pixels, the same share
    of every image's pixels (the score pools all pixels, so a large image weighs more), at most MAX_PIXELS."""
    model.eval()
    rng = np.random.default_rng(seed)
    logits, truth = [], []
    for it in items:
        if cancel is not None:
            cancel.check()
        rgb = it.image()
        lab = it.label_map().astype(np.int64).ravel()
        out = _logits(model, rgb, tile, scale, device)
        keep = np.flatnonzero(lab != ignore_index) if ignore_index is not None else np.arange(lab.size)
        keep = keep[rng.random(keep.size) < SAMPLE_SHARE]
        # float16 halves the memory; logits beyond its range (an untrained model's) are clipped to it
        logits.append(np.clip(out.reshape(out.shape[0], -1)[:, keep].T, -6e4, 6e4).astype(np.float16))
        truth.append(lab[keep])
    all_logits, all_truth = np.concatenate(logits), np.concatenate(truth)
    if len(all_truth) > MAX_PIXELS:
        pick = rng.choice(len(all_truth), MAX_PIXELS, replace=False)
        all_logits, all_truth = all_logits[pick], all_truth[pick]
    return all_logits.astype(np.float32), all_truth


def _logits(model, rgb: np.ndarray, tile: int, scale: float, device) -> np.ndarray:
    if scale == 1.0:
        return sem.predict_logits(model, rgb, tile, device=device).cpu().numpy()
    import cv2
    import torch.nn.functional as F

    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    out = sem.predict_logits(model, small, tile, device=device)
    return F.interpolate(out[None], size=(h, w), mode="bilinear", align_corners=False)[0].cpu().numpy()


def mean_iou(logits: np.ndarray, truth: np.ndarray, offsets: np.ndarray, ignore_index) -> float:
    pred = (logits + offsets).argmax(1)
    conf = sem.confusion(truth, pred, logits.shape[1])
    return sem.iou_from_confusion(conf, ignore_index)["miou"]


def fit(logits: np.ndarray, truth: np.ndarray, ignore_index=None) -> tuple[np.ndarray, float, float]:
    """(offsets (C,), mean IoU before, after) on these pixels; all zeros when nothing gains MIN_GAIN."""
    classes = logits.shape[1]
    counts = np.bincount(truth[(truth >= 0) & (truth < classes)], minlength=classes)
    movable = [c for c in range(classes) if c != ignore_index and counts[c] >= MIN_SHARE * max(1, len(truth))]
    offsets = np.zeros(classes, np.float32)
    before = best = mean_iou(logits, truth, offsets, ignore_index)
    # one class stays at 0: only differences between offsets change the argmax
    for _ in range(ROUNDS):
        moved = False
        for c in movable[1:]:
            for value in GRID:
                trial = offsets.copy()
                trial[c] = value
                score = mean_iou(logits, truth, trial, ignore_index)
                if score > best + 1e-9:
                    best, offsets, moved = score, trial, True
        if not moved:
            break
    if best - before < MIN_GAIN:
        return np.zeros(classes, np.float32), before, before
    return offsets, before, best


def logit_layer(model, arch: str):
    name = LOGIT_LAYERS[arch]
    layer = model.get_submodule(name)
    if getattr(layer, "bias", None) is None:
        raise ValueError(f"{arch}'s logit layer {name} has no bias")
    return layer


@torch.no_grad()
def shift_bias(model, arch: str, offsets: np.ndarray) -> None:
    """Add the offsets to the logits the model produces (its logit layer's bias)."""
    layer = logit_layer(model, arch)
    layer.bias.add_(torch.as_tensor(offsets, dtype=layer.bias.dtype, device=layer.bias.device))


def tune(model, arch: str, items: list, tile: int, scale: float, ignore_index, seed: int, cancel=None,
         device="cpu") -> dict:
    """Fit the offsets on the items and add them to the model; the record says what they were and gained."""
    logits, truth = sample_logits(model, items, tile, scale, ignore_index, seed, cancel, device)
    offsets, before, after = fit(logits, truth, ignore_index)
    shift_bias(model, arch, offsets)
    return {"offsets": [round(float(v), 3) for v in offsets], "images": len(items), "miou_before": round(before, 4),
            "miou_after": round(after, 4)}


def plan(arch: str, items: list, count: int, seed: int) -> tuple[list, str]:
    """The images a run tunes its offsets on (none when off) and, when it cannot, the sentence that says why."""
    if count <= 0:
        return [], ""
    if not supported(arch):
        return [], f"decision offsets not tuned: {arch}'s logit layer is not declared (calibrate.LOGIT_LAYERS)"
    chosen = calibration_items(items, count, seed)
    if len(chosen) < MIN_IMAGES:
        return [], (f"decision offsets not tuned: {len(chosen)} training images, fewer than the {MIN_IMAGES} that "
                    "give offsets which hold on other images")
    return chosen, ""


def calibration_items(items: list, count: int, seed: int) -> list:
    """Up to `count` distinct items (a mixed replay list repeats them), a fixed draw."""
    unique = list({id(it): it for it in items}.values())
    if len(unique) <= count:
        return unique
    return random.Random(seed).sample(unique, count)
