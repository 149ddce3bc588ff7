"""Calibration images for int8: the caller's (project images, arrays, a folder) or the bundled samples.

Images become exactly what the float model takes (core.models.torch_models.preprocess.prepare, the spec's input
policy); tiled models see tile-sized windows. The set's hash is part of the int8 cache key.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable, Sequence, Union

import numpy as np
import torch

from maskwork.core.domain.errors import InputError
from maskwork.core.resources import samples_dir
from maskwork.core.store import bounded
from maskwork.core.store.images import IMAGE_SUFFIXES, read_image

DEFAULT_COUNT = 16  # enough for stable min/max ranges; each costs one forward pass with observers
MAX_COUNT = 64
MAX_SIDE = 1024  # larger calibration images are shrunk first: ranges do not need full resolution

CalibrationSource = Union[None, str, Path, Sequence[Union[np.ndarray, str, Path]]]


def _files_in(folder: Path) -> list[Path]:
    suffixes = {s.lower() for s in IMAGE_SUFFIXES}
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)


def _read(path: Path) -> np.ndarray:
    return read_image(path)


def _spread(items: list, count: int) -> list:
    """`count` items spread evenly over the list (folders are often sorted by acquisition)."""
    if len(items) <= count:
        return items
    idx = np.linspace(0, len(items) - 1, count).round().astype(int)
    return [items[i] for i in idx]


def bundled(model_name: str = "") -> list[Path]:
    """Bundled samples; a model named after a sample folder (nuclei-*, aerial-*) gets that folder's."""
    if not samples_dir().is_dir():
        return []
    own = samples_dir() / model_name.split("-")[0] if model_name else None
    return _files_in(own if own is not None and own.is_dir() else samples_dir())


def resolve(source: CalibrationSource, count: int = DEFAULT_COUNT,
            model_name: str = "") -> list[np.ndarray | str | Path]:
    """A list of arrays or image paths, at most `count` (1..MAX_COUNT)."""
    items: list[np.ndarray | str | Path]
    if not 1 <= count <= MAX_COUNT:
        raise InputError(f"calibration: {count} images asked; use 1 to {MAX_COUNT} (a few dozen are plenty).")
    if source is None:
        items = list(bundled(model_name))
        if not items:
            raise InputError(f"calibration: no bundled sample images in {samples_dir()}; give calibration images "
                             "(a folder or a list of images) to build the int8 model.")
    elif isinstance(source, (str, Path)):
        folder = Path(source)
        if not folder.is_dir():
            raise InputError(f"calibration folder {folder} does not exist; give a folder of images "
                             "like the ones the model will see.")
        items = list(_files_in(folder))
        if not items:
            raise InputError(f"calibration folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}).")
    else:
        items = list(source)
        if not items:
            raise InputError("calibration: the list of images is empty; give at least one image.")
    return _spread(items, count)


def load(item: np.ndarray | Path, where: str) -> np.ndarray:
    if isinstance(item, (str, Path)):
        return _read(Path(item))
    a = np.asarray(item)
    if a.ndim not in (2, 3):
        raise InputError(f"calibration {where}: expected an image array (H, W[, C]), got shape {a.shape}")
    return a


def _shrink(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    if max(h, w) <= MAX_SIDE:
        return rgb
    import cv2

    f = MAX_SIDE / max(h, w)
    return cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)


def model_input(rgb: np.ndarray, spec, where: str) -> torch.Tensor:
    """(3, h, w) tensor as the predictor feeds the float model; tiled models get one centre tile."""
    from maskwork.core.models.torch_models.preprocess import as_rgb, prepare

    t = prepare(_shrink(as_rgb(rgb, where)), spec.task, spec.input, where).tensor
    if spec.task == "semantic" and spec.input.mode == "tile":
        tile = spec.input.tile
        h, w = t.shape[-2:]
        y, x = max(0, (h - tile) // 2), max(0, (w - tile) // 2)
        t = t[:, y : y + tile, x : x + tile]
    return t


def inputs(items: list, spec) -> Iterable[torch.Tensor]:
    for n, item in enumerate(items):
        where = str(item) if isinstance(item, (str, Path)) else f"image {n + 1}"
        yield model_input(load(item, where), spec, where)


def fingerprint(items: list) -> str:
    """Hash of the calibration set: file contents for paths, pixels for arrays."""
    h = hashlib.blake2b(digest_size=16)
    for item in items:
        if isinstance(item, (str, Path)):
            p = Path(item)
            h.update(p.name.encode())
            h.update(bounded.read_bytes(p, limit=bounded.IMAGE_FILE, what="calibration image"))
        else:
            a = np.ascontiguousarray(item)
            h.update(str((a.shape, a.dtype)).encode())
            h.update(a.tobytes())
    return h.hexdigest()
