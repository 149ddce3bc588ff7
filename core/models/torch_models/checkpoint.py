"""Maskwork checkpoints: weights + architecture + class list + how they were trained.

Saved with torch.save as a dict of plain types so that torch.load(weights_only=True) reads it:
  {"format": "maskwork-checkpoint", "version": 1, "arch": str, "task": str,
   "classes": [{"id","name","color"}...], "state_dict": {...}, "training": {...},
   "input": {...}}   # e.g. {"min_size": 512, "max_size": 1024} or {"tile": 512}
A plain torchvision state dict (no "format" key) is accepted by core.models.catalog.weights too.
"""
from __future__ import annotations

import io
import pickle
import re
import zipfile
from pathlib import Path

from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.errors import InputError, ModelError
from maskwork.core.models.catalog.headers import FORMAT, header_of, write_sidecar
from maskwork.core.store import bounded
from maskwork.core.store.atomic import write_bytes_atomic

# torch is imported by save_checkpoint and read_checkpoint, not here: listing the models imports this
# module (through core.models.catalog.user_models) and must not cost a torch import (ADR 0012).
VERSION = 1


def save_checkpoint(path: str | Path, *, arch: str, task: str, classes: ClassList, state_dict: dict,
                    training: dict | None = None, input_spec: dict | None = None, extra: dict | None = None) -> None:
    """Atomic save (temp file in the same folder, fsync, rename) with the usual file permissions."""
    payload = {
        "format": FORMAT, "version": VERSION, "arch": arch, "task": task,
        "classes": classes.to_list(), "state_dict": state_dict,
        "training": training or {}, "input": input_spec or {}, "extra": extra or {},
    }
    import torch

    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_bytes_atomic(path, buffer.getvalue())  # temp file + fsync + rename; ProjectError says what to do
    write_sidecar(path, header_of(payload))  # the model list reads it without torch (core.models.catalog.headers)


class CheckpointError(ModelError, InputError):
    """A checkpoint file that Maskwork cannot use: a bad file from the user (InputError) that stops a model
    from loading (ModelError), so callers catching either see it."""


# File signatures of things people rename to .pt by mistake: first bytes -> what the file is.
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"), (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"), (b"7z\xbc\xaf", "a 7-Zip archive"), (b"Rar!", "a RAR archive"),
    (b"\x89HDF", "an HDF5 file (Keras weights?)"), (b"\x93NUMPY", "a NumPy array file"),
)
ZIP_MAGIC = b"PK\x03\x04"
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
GLOBAL_RE = re.compile(r"GLOBAL ([A-Za-z_][\w.]*)")
RESAVE = ("re-save it with torch.save(model.state_dict(), path) "
          "(or maskwork.core.models.torch_models.checkpoint.save_checkpoint) "
          "in the code that trained it, and pick that file")
PICK = "pick a .pt/.pth file saved by Maskwork or a torchvision state dict"


def _sniff(path: Path) -> bytes:
    try:
        with bounded.open_binary(path, limit=bounded.MODEL_FILE, what="checkpoint") as fh:
            return fh.read(4096)
    except OSError:
        return b""


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a multi-byte character cut at the end of the sample
    return True


def _one_line(text: str, limit: int = 120) -> str:
    """torch's message reduced to its first clause: no ANSI escapes, no newlines, no sentence break."""
    text = " ".join(ANSI_RE.sub("", text).split())
    text = re.split(r"(?<=[a-z0-9)])\.\s", text, maxsplit=1)[0].rstrip(".")
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def describe_load_failure(path: Path, exc: BaseException) -> str:
    """One sentence for a file that torch.load(weights_only=True) refused: what it is and what to do."""
    size = path.stat().st_size if path.is_file() else 0
    head = _sniff(path)
    text = ANSI_RE.sub("", str(exc))
    if size == 0:
        return f"{path} is empty (0 bytes), probably an interrupted copy or save; copy or save the checkpoint again."
    if isinstance(exc, pickle.UnpicklingError) and "Weights only load failed" in text:
        found = GLOBAL_RE.search(text)
        if found:
            return (f"{path} is not a weights-only checkpoint: it contains pickled Python objects (GLOBAL "
                    f"{found.group(1)}), which Maskwork does not load because that could run code; {RESAVE}.")
    for magic, kind in SIGNATURES:
        if head.startswith(magic):
            return f"{path} is not a readable PyTorch checkpoint: it is {kind}; {PICK}."
    pickled = head[:1] == b"\x80" or (head.startswith(ZIP_MAGIC) and _zip_complete(path))
    if isinstance(exc, pickle.UnpicklingError) and "Weights only load failed" in text and pickled:
        # a pickle stream (bare or in torch's zip) refused for something other than a named global
        reason = text.split("WeightsUnpickler error:")[-1] if "WeightsUnpickler error:" in text else ""
        reason = _one_line(reason.split("Check the documentation")[0])
        detail = f" ({reason[:1].lower()}{reason[1:]})" if reason else ""
        return (f"{path} is not a weights-only checkpoint: its pickle holds more than tensors and plain "
                f"values{detail}, which Maskwork does not load because that could run code; {RESAVE}.")
    if head.startswith(ZIP_MAGIC) or "zip archive" in text or "PytorchStreamReader" in text:
        if "central directory" in text or isinstance(exc, (EOFError, zipfile.BadZipFile)) or not _zip_complete(path):
            return (f"{path} is damaged: it is an incomplete or corrupt zip archive ({size} bytes), probably a "
                    "partial copy or download; copy or save the checkpoint again.")
        return f"{path} is a zip archive but not one written by torch.save (no PyTorch data in it); {PICK}."
    if _is_text(head):
        return f"{path} is not a readable PyTorch checkpoint: it is a text file; {PICK}."
    return (f"{path} is not a PyTorch checkpoint: it is neither a zip archive written by torch.save nor a legacy "
            f"torch file; {PICK}.")


def _zip_complete(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def check_header(path: str | Path, ckpt: dict) -> None:
    """A Maskwork header must agree with itself: its task is the task of its architecture."""
    from maskwork.core.models.torch_models.architectures import ARCHITECTURES

    arch, task = ckpt.get("arch"), ckpt.get("task")
    known = ARCHITECTURES.get(arch) if isinstance(arch, str) else None
    if known is None:  # an unknown architecture is reported where the model is built, with the known ones
        return
    if task != known.task:
        raise CheckpointError(f"{path} declares task {task} but its architecture {arch} does {known.task} "
                              f"segmentation, so its header is wrong; save it again with task=\"{known.task}\" "
                              "(maskwork.core.models.torch_models.checkpoint.save_checkpoint) or retrain it.")


def read_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint file safely. Returns the Maskwork dict, or {"state_dict": sd} for a plain one.

    Every refusal is a CheckpointError of one sentence: a file that is not a checkpoint (an image, text, an
    empty or truncated file), a pickle with Python objects (never run: weights_only=True), or a Maskwork
    header that contradicts itself (task against architecture)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    import torch

    vetted = bounded.check_file(path, limit=bounded.MODEL_FILE, what="checkpoint")
    try:
        obj = torch.load(vetted, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, truncated zip, non-torch file
        raise CheckpointError(describe_load_failure(path, exc)) from exc
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        missing = [k for k in ("arch", "task", "classes", "state_dict") if k not in obj]
        if missing:
            raise CheckpointError(f"{path} is a Maskwork checkpoint without {', '.join(missing)}; it is damaged.")
        check_header(path, obj)
        return obj
    if isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()) and obj:
        return {"state_dict": obj}
    if isinstance(obj, dict) and isinstance(obj.get("state_dict") or obj.get("model"), dict):
        return {"state_dict": obj.get("state_dict") or obj.get("model")}
    raise CheckpointError(f"{path} holds no model weights that Maskwork recognises (expected a state dict).")
