"""Turn any image array into what a model takes: (3, H, W) float tensors, resized per the spec's policy."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from maskwork.core.domain.errors import InputError
from maskwork.core.models.catalog.specs import InputPolicy


def as_rgb(image: np.ndarray, where: str = "image") -> np.ndarray:
    """(H, W, 3) uint8 from gray (H, W) / (H, W, 1), RGBA (alpha dropped), 16-bit or float arrays.

    core.store.images.read_image already does this for files; arrays from elsewhere get the same care.
    High bit depths are scaled by the image's own maximum: 12-bit microscopy stored in 16 bits
    would otherwise come out almost black.
    """
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        a = np.stack([a, a, a], axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or min(a.shape[:2]) < 1:
        raise InputError(f"{where}: expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {a.shape}")
    a = a[:, :, :3]
    if a.dtype == np.uint8:
        return a if a.flags.c_contiguous and a.flags.writeable else a.copy()
    if a.dtype == bool:
        return np.ascontiguousarray(a.astype(np.uint8) * 255)
    f = a.astype(np.float32)
    if np.issubdtype(a.dtype, np.floating) and f.max(initial=0) <= 1.0:
        f = f * 255.0
    elif f.max(initial=0) > 255:
        f = f * (255.0 / f.max())
    return np.ascontiguousarray(np.clip(np.nan_to_num(f) + 0.5, 0, 255).astype(np.uint8))


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """(3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div_(255.0)


def normalize(t: torch.Tensor, policy: InputPolicy) -> torch.Tensor:
    mean = torch.tensor(policy.mean, dtype=t.dtype).view(-1, 1, 1)
    std = torch.tensor(policy.std, dtype=t.dtype).view(-1, 1, 1)
    return (t - mean) / std


def resize_shorter(t: torch.Tensor, size: int, max_size: int) -> torch.Tensor:
    """Shorter side to `size`, aspect kept, antialiased (as torchvision's SemanticSegmentation preset);
    the longer side is capped at `max_size` so a 3 x 600 strip does not become 520 x 104000."""
    from torchvision.transforms.functional import resize

    h, w = t.shape[-2:]
    if min(h, w) == size and max(h, w) <= max_size:
        return t
    if max(h, w) * size / min(h, w) > max_size:
        scale = max_size / max(h, w)
        return resize(t, [max(1, round(h * scale)), max(1, round(w * scale))], antialias=True)
    return resize(t, [size], antialias=True)


def scale_by(t: torch.Tensor, factor: float) -> torch.Tensor:
    if factor == 1.0:
        return t
    from torchvision.transforms.functional import resize

    h, w = t.shape[-2:]
    return resize(t, [max(1, round(h * factor)), max(1, round(w * factor))], antialias=True)


@dataclass
class Prepared:
    """An image ready for the model: CPU work done (in a worker thread for batches)."""

    tensor: torch.Tensor  # (3, h, w) float32: [0, 1] for rcnn (the model normalizes), normalized otherwise
    height: int  # original size: results come back at this resolution
    width: int


def prepare(image: np.ndarray, task: str, policy: InputPolicy, where: str = "image") -> Prepared:
    rgb = as_rgb(image, where)
    t = to_tensor(rgb)
    h, w = rgb.shape[:2]
    if policy.mode == "resize":
        t = normalize(resize_shorter(t, policy.resize, policy.max_size), policy)
    elif policy.mode == "tile":
        t = normalize(scale_by(t, policy.scale), policy)
    return Prepared(t, h, w)
