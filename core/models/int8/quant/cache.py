"""On-disk cache of int8 models: a plain state dict per (model, weights, calibration, torch, route).

Files hold tensors only and are read with torch.load(weights_only=True); the int8 graph is rebuilt
deterministically (core.models.int8.quant.build.rebuild) and the state dict loaded into it. A damaged or
foreign file is treated as a miss: the model is recalibrated and the file rewritten.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from pathlib import Path

import torch
from torch import nn

from maskwork.core.domain.errors import ModelError, ProjectError
from maskwork.core.models.int8.quant.quiet import quiet_quantization
from maskwork.core.store import bounded
from maskwork.core.store.atomic import write_bytes_atomic

log = logging.getLogger(__name__)

FORMAT = "maskwork-int8"


def default_cache_dir() -> Path:
    override = os.environ.get("MASKWORK_CACHE_DIR")
    if override:
        return Path(override) / "int8"
    return Path.home() / ".cache" / "maskwork" / "int8"


def weights_fingerprint(model: nn.Module) -> str:
    """Hash of every tensor of the float model's state dict (names, shapes, values)."""
    h = hashlib.blake2b(digest_size=16)
    for name, t in model.state_dict().items():
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def cache_key(**parts) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cache_path(cache_dir: Path, model_name: str, key: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_name)
    return Path(cache_dir) / f"{safe}-{key}.pt"


def save(path: Path, key: str, state_dict: dict, meta: dict) -> None:
    """Atomic write; a cache that cannot be written costs only speed next time, not the model."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "key": key, "meta": meta, "state_dict": state_dict}, buffer)
    try:
        write_bytes_atomic(path, buffer.getvalue())
    except ProjectError as exc:
        cause = exc.__cause__
        raise ModelError(f"cannot write the int8 cache file {path}: {getattr(cause, 'strerror', None) or cause}. "
                         "Free disk space or set MASKWORK_CACHE_DIR to a writable folder.") from exc


def load(path: Path, key: str) -> dict | None:
    """The cached state dict, or None when absent, damaged or built for another key."""
    if not path.is_file():
        return None
    try:
        with quiet_quantization():
            obj = torch.load(bounded.check_file(path, limit=bounded.MODEL_FILE, what="int8 cache"), map_location="cpu",
                             weights_only=True)
    except Exception:  # truncated write, foreign file: rebuild instead
        log.warning("int8 cache %s unreadable; it will be rebuilt", path, exc_info=True)
        return None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT or obj.get("key") != key:
        return None
    sd = obj.get("state_dict")
    return sd if isinstance(sd, dict) else None
