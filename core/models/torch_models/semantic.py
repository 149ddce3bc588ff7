"""Semantic inference: whole image (resize policy) or overlapping tiles, back to the original size.

Tiles are stitched by keeping, for each tile, the part closer to its centre than to any
neighbour's (cuts at the middle of each overlap), so borders where a tile lacks context are dropped.
Logits are resized to the original size in row bands to bound memory on large images.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from maskwork.core.domain.progress import CancelToken, check
from maskwork.core.models.catalog.specs import InputPolicy

BAND_BYTES = 64 << 20  # float32 logits per resize band
# Tiling bounds memory on big images; an image of up to this many tiles' area runs in one pass,
# because overlapping windows would cost more time (up to 2x the pixels) than the memory they save.
WHOLE_TILES = 4
# a module or any function of a batch (N, 3, h, w): its logits, or torchvision's {"out": logits}
LogitsFn = Callable[[torch.Tensor], "torch.Tensor | dict[str, torch.Tensor]"]


def forward(model: LogitsFn, x: torch.Tensor) -> torch.Tensor:
    """(1, C, h, w) logits from a torchvision segmentation model (dict "out") or a plain module."""
    out = model(x)
    return out["out"] if isinstance(out, dict) else out


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Window starts covering [0, length): stride tile - overlap, last window flush with the end."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


def _cuts(starts: list[int], tile: int, length: int) -> list[tuple[int, int]]:
    """For each window, the [a, b) range it owns: boundaries in the middle of each overlap."""
    bounds = [0] + [(b + a + tile) // 2 for a, b in zip(starts, starts[1:])] + [length]
    return list(zip(bounds, bounds[1:]))


def tiled_logits(model: LogitsFn, x: torch.Tensor, policy: InputPolicy,
                 cancel: CancelToken | None = None) -> torch.Tensor:
    """(C, h, w) logits of image x (3, h, w) on the model's device, computed window by window."""
    h, w = x.shape[-2:]
    if h * w <= WHOLE_TILES * policy.tile ** 2:
        return forward(model, x[None])[0]
    th, tw = min(policy.tile, h), min(policy.tile, w)
    ys, xs = tile_starts(h, th, policy.overlap), tile_starts(w, tw, policy.overlap)
    out = None
    for ty, (ya, yb) in zip(ys, _cuts(ys, th, h)):
        for tx, (xa, xb) in zip(xs, _cuts(xs, tw, w)):
            check(cancel)
            logits = forward(model, x[None, :, ty : ty + th, tx : tx + tw])[0]
            if out is None:
                out = torch.empty((logits.shape[0], h, w), dtype=logits.dtype, device=logits.device)
            out[:, ya:yb, xa:xb] = logits[:, ya - ty : yb - ty, xa - tx : xb - tx]
    assert out is not None  # the image has at least one tile
    return out


def semantic_logits(model: LogitsFn, x: torch.Tensor, policy: InputPolicy,
                    cancel: CancelToken | None = None) -> torch.Tensor:
    if policy.mode == "tile":
        return tiled_logits(model, x, policy, cancel)
    return forward(model, x[None])[0]


def to_label_map(logits: torch.Tensor, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear resize of (C, h, w) logits to (height, width), softmax, argmax; done in row bands.

    grid_sample with border padding and pixel-centre coordinates equals F.interpolate(bilinear,
    align_corners=False), but lets each band be computed on its own.
    """
    c, h, w = logits.shape
    dtype = np.uint8 if c <= 256 else np.uint16
    labels = np.empty((height, width), dtype)
    conf = np.empty((height, width), np.float32)
    rows = max(1, BAND_BYTES // (c * width * 4))
    same = (h, w) == (height, width)
    dev = logits.device
    xs = (torch.arange(width, device=dev, dtype=torch.float32) + 0.5) / width * 2 - 1
    for y0 in range(0, height, rows):
        y1 = min(height, y0 + rows)
        if same:
            band = logits[:, y0:y1].float()
        else:
            ys = (torch.arange(y0, y1, device=dev, dtype=torch.float32) + 0.5) / height * 2 - 1
            grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)[None]
            band = F.grid_sample(logits[None].float(), grid, mode="bilinear", padding_mode="border",
                                 align_corners=False)[0]
        prob, idx = band.softmax(0).max(0)
        labels[y0:y1] = idx.cpu().numpy().astype(dtype)
        conf[y0:y1] = prob.cpu().numpy()
    return labels, conf
