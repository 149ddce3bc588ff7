"""A checkpoint's description (arch, task, classes, input) read without importing torch.

The window lists the models at start-up; reading the checkpoints with torch.load would import torch
(~1 s and ~700 MB resident) before the user runs anything. Two torch-free routes, in this order:
1. the sidecar `<file>.header.json` that save_checkpoint writes next to every checkpoint (the bundled
   ones included), trusted while the CRC-32 of the checkpoint's pickle, read from the zip directory,
   is the one the sidecar recorded (a replaced checkpoint never gets a stale description);
2. the checkpoint's own pickle (torch's zip format keeps it in `<name>/data.pkl`, the tensors in
   other members), unpickled with the tensors left out: torch's rebuild functions and storage types
   become inert placeholders, collections.OrderedDict is allowed, any other global is refused. Nothing
   in the file runs, which is the weights_only=True promise kept without torch.
A file neither route can read raises ModelError; loading it with torch then says what the file is.
See docs/adr/0012-no-stall-and-a-lean-start-up.md.
"""
from __future__ import annotations

import collections
import io
import pickle
import zipfile
from pathlib import Path

from maskwork.core.domain.errors import InputError, ModelError
from maskwork.core.store.atomic import save_json_atomic
from maskwork.core.store.schemas import CheckpointSidecar, load_json

FORMAT = "maskwork-checkpoint"          # the "format" value of a Maskwork checkpoint
SIDECAR_FORMAT = "maskwork-checkpoint-header"
SIDECAR_SUFFIX = ".header.json"
HEADER_KEYS = ("arch", "task", "classes", "input")


def sidecar_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def header_of(checkpoint) -> dict:
    """The description part of a loaded checkpoint ({} for a plain state dict)."""
    if isinstance(checkpoint, dict) and checkpoint.get("format") == FORMAT:
        return {k: checkpoint[k] for k in HEADER_KEYS if k in checkpoint}
    return {}


def write_sidecar(path: str | Path, header: dict) -> None:
    """Record `header` next to the checkpoint at `path` (atomic; ProjectError when it cannot)."""
    with zipfile.ZipFile(path) as archive:
        crc = _pickle_member(archive).CRC
    save_json_atomic(sidecar_path(path), {"format": SIDECAR_FORMAT, "version": 1, "pickle_crc32": crc,
                                          **{k: header[k] for k in HEADER_KEYS if k in header}}, indent=1)


def read_header(path: str | Path) -> dict:
    """arch/task/classes/input of the checkpoint at `path` ({} for a plain state dict), without torch."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            member = _pickle_member(archive)
            found = _sidecar(path, member.CRC)
            if found is not None:
                return found
            data = archive.read(member)
        return header_of(_InertUnpickler(io.BytesIO(data)).load())
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise ModelError(f"{path}: its description cannot be read without loading it "
                         f"({type(exc).__name__}: {exc}).") from exc


def _pickle_member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    """torch's zip format: one `<archive name>/data.pkl` at the top level."""
    found = [i for i in archive.infolist() if i.filename.endswith("data.pkl") and i.filename.count("/") <= 1]
    if len(found) != 1:
        raise KeyError("no data.pkl: not a zip written by torch.save")
    return found[0]


def _sidecar(path: Path, crc: int) -> dict | None:
    try:
        doc = load_json(sidecar_path(path), CheckpointSidecar)
    except (OSError, InputError):
        return None  # none (a user's own checkpoint) or damaged: read the pickle instead
    if doc["pickle_crc32"] != crc:
        return None  # another checkpoint was saved under this name since
    return {k: doc[k] for k in HEADER_KEYS if k in doc}


class _Inert:
    """Stands for a tensor, a storage or a torch type: accepts anything, does nothing."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        pass


class _InertUnpickler(pickle.Unpickler):
    ALLOWED = {("collections", "OrderedDict"): collections.OrderedDict}

    def find_class(self, module: str, name: str):
        if module == "torch" or module.startswith("torch."):
            return _Inert  # _rebuild_tensor_v2, _rebuild_parameter, FloatStorage, dtypes, ...
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a weights-only checkpoint")

    def persistent_load(self, pid):
        return _Inert()  # a storage: its bytes are in another member and stay unread
