"""Maskwork checkpoints: weights + architecture + class list + how they were trained.

Saved with torch.save as a dict of plain types so that torch.load(weights_only=True) reads it:
  {"format": "maskwork-checkpoint", "version": 1, "arch": str, "task": str,
   "classes": [{"id","name","color"}...], "state_dict": {...}, "training": {...},
   "input": {...}}   # e.g. {"min_size": 512, "max_size": 1024} or {"tile": 512}
A plain torchvision state dict (no "format" key) is accepted by core.models.weights too.
"""
from __future__ import annotations

import io
from pathlib import Path

import torch

from core.annotation import ClassList
from core.errors import InputError
from core.io.atomic import write_bytes_atomic

FORMAT = "maskwork-checkpoint"
VERSION = 1


def save_checkpoint(path: str | Path, *, arch: str, task: str, classes: ClassList, state_dict: dict,
                    training: dict | None = None, input_spec: dict | None = None, extra: dict | None = None) -> None:
    """Atomic save (temp file in the same folder, fsync, rename) with the usual file permissions."""
    payload = {
        "format": FORMAT, "version": VERSION, "arch": arch, "task": task,
        "classes": classes.to_list(), "state_dict": state_dict,
        "training": training or {}, "input": input_spec or {}, "extra": extra or {},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_bytes_atomic(path, buffer.getvalue())  # temp file + fsync + rename; ProjectError says what to do


def read_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint file safely. Returns the Maskwork dict, or {"state_dict": sd} for a plain one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint {path} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, truncated zip, non-torch file
        raise InputError(f"{path} is not a readable PyTorch checkpoint ({type(exc).__name__}: {str(exc)[:200]}). "
                         "Pick a .pt/.pth file saved by Maskwork or a torchvision state dict.") from exc
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        missing = [k for k in ("arch", "task", "classes", "state_dict") if k not in obj]
        if missing:
            raise InputError(f"{path} is a Maskwork checkpoint without {', '.join(missing)}; it is damaged.")
        return obj
    if isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()) and obj:
        return {"state_dict": obj}
    if isinstance(obj, dict) and isinstance(obj.get("state_dict") or obj.get("model"), dict):
        return {"state_dict": obj.get("state_dict") or obj.get("model")}
    raise InputError(f"{path} holds no model weights that Maskwork recognises (expected a state dict).")
