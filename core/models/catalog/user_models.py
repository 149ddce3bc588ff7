"""The user's own checkpoints, registered once and listed with the built-in models.

The list lives in <config dir>/models.json (~/.config/maskwork, $XDG_CONFIG_HOME/maskwork, or
$MASKWORK_CONFIG_DIR). Entries point at the checkpoint file; a Maskwork checkpoint describes its
architecture and classes itself, a plain state dict gets them from the user at registration.
"""
from __future__ import annotations

import os
from pathlib import Path

from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.errors import InputError, MaskworkError, ModelError, ProjectError
from maskwork.core.models.catalog.builtin import MODELS
from maskwork.core.models.catalog.classlists import generic_classes
from maskwork.core.models.catalog.meta_checks import background_name, checked_class_list, checked_names
from maskwork.core.models.catalog.specs import OWN_RCNN, OWN_TILE, ModelSpec, UserCheckpoint, spec_with_header
from maskwork.core.models.onnx_models.entries import spec_from_entry as onnx_spec
from maskwork.core.models.torch_models.architectures import ARCHITECTURES
from maskwork.core.models.torch_models.checkpoint import read_checkpoint
from maskwork.core.store.atomic import save_json_atomic
from maskwork.core.store.schemas import ModelEntry, ModelsFile, check, load_json

VERSION = 1

# A plain state dict most likely comes from torchvision-style training: feed it as torchvision does.
PLAIN_INPUT = {"instance": {"min_size": 800, "max_size": 1333, "detections_per_img": 100},
               "semantic": {"resize": 520}}
# Head weight whose first dimension is the number of classes, per architecture family.
HEAD_KEYS = ("roi_heads.box_predictor.cls_score.weight", "classifier.4.weight", "classifier.low_classifier.weight")


def config_dir() -> Path:
    if os.environ.get("MASKWORK_CONFIG_DIR"):
        return Path(os.environ["MASKWORK_CONFIG_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "maskwork"


def models_file() -> Path:
    return config_dir() / "models.json"


def _raw_entries() -> list:
    """The entries as the file has them ([] without a file); ModelError when the file as a whole is damaged."""
    path = models_file()
    if not path.is_file():
        return []
    try:
        return load_json(path, ModelsFile, where=f"the list of your models {path}")["models"]
    except (OSError, InputError) as exc:
        raise ModelError(str(exc) if isinstance(exc, InputError) else f"the list of your models {path} is damaged "
                         f"({exc}). {ModelsFile.FIX}") from exc


def _unusable(k: int, entry) -> str | None:
    """Why entry number k cannot be used (one sentence), None when it can."""
    name = entry.get("name") if isinstance(entry, dict) else None
    where = f"{models_file()}, model {k + 1}" + (f" ({name!r})" if isinstance(name, str) else "")
    try:
        check(entry, ModelEntry, where=where)
    except InputError as exc:
        return str(exc)
    if entry.get("backend") is None and entry["arch"] not in ARCHITECTURES:
        return (f"{where}: field arch is {entry['arch']!r}, not one Maskwork knows ({', '.join(ARCHITECTURES)}); "
                f"{ModelEntry.FIX}")
    try:
        _spec_from_entry(entry)
    except (KeyError, TypeError, ValueError, MaskworkError) as exc:  # e.g. an ONNX entry without its layout
        return f"{where}: the entry is incomplete ({type(exc).__name__}: {exc}); {ModelEntry.FIX}"
    return None


def read_entries() -> list[dict]:
    """The usable entries; a damaged one is left out (skipped_entries says why) and kept in the file."""
    return [e for k, e in enumerate(_raw_entries()) if _unusable(k, e) is None]


def skipped_entries() -> list[str]:
    """One sentence per entry of models.json that is left out because it is damaged."""
    return [why for k, e in enumerate(_raw_entries()) if (why := _unusable(k, e)) is not None]


def write_entries(entries: list[dict]) -> None:
    path = models_file()
    names = {e["name"] for e in entries}  # damaged entries stay for the user to fix, unless replaced
    damaged = [e for k, e in enumerate(_raw_entries()) if _unusable(k, e) is not None
               and not (isinstance(e, dict) and e.get("name") in names)]
    try:
        save_json_atomic(path, {"version": VERSION, "models": entries + damaged}, indent=1)
    except ProjectError as exc:
        cause = exc.__cause__
        raise ModelError(f"cannot save the list of your models to {path}: {getattr(cause, 'strerror', None) or cause}. "
                         "Check that the folder is writable (or set MASKWORK_CONFIG_DIR).") from exc


def _spec_from_entry(entry: dict) -> ModelSpec:
    if entry.get("backend") == "onnx":  # an ONNX file (core.models.onnx_models.register writes these)
        return onnx_spec(entry)
    arch = entry["arch"]
    task = entry.get("task") or ARCHITECTURES[arch].task
    policy = {"instance": OWN_RCNN, "semantic": OWN_TILE}[task]
    spec = ModelSpec(entry["name"], task, arch, ClassList.from_list(entry["classes"]), policy,
                     UserCheckpoint(entry["path"]), entry.get("description", "your checkpoint"))
    return spec_with_header(spec, {"input": entry.get("input") or {}})


def user_specs() -> list[ModelSpec]:
    return [_spec_from_entry(e) for e in read_entries()]


def _count_classes(state_dict: dict) -> int | None:
    for key in HEAD_KEYS:
        for k in (key, "module." + key):
            if k in state_dict:
                return int(state_dict[k].shape[0])
    return None


def register_checkpoint(path: str | Path, arch: str | None = None, name: str | None = None,
                        classes: ClassList | list[str] | None = None, check: bool = True) -> ModelSpec:
    """Add a checkpoint to the user's models and return its spec.

    Maskwork checkpoint: architecture and classes come from the file. Plain state dict: `arch` is
    required; `classes` (names, background first) defaults to generic names sized from the head.
    `check` loads the weights into the architecture now, so a misfit is reported at once.
    """
    path = Path(path).expanduser().resolve()
    ckpt = read_checkpoint(path)
    name = name or path.stem
    if name in MODELS:
        raise InputError(f"{name!r} is a built-in model name; register {path.name} under another name (--name).")
    if "arch" in ckpt:
        arch, task = ckpt["arch"], ckpt["task"]
        class_list = ClassList.from_list(checked_class_list(ckpt["classes"], f"{path.name}: classes"))
    else:
        if not arch:
            raise InputError(f"{path} is a plain state dict without a description: name its architecture "
                             f"(--arch, one of {', '.join(ARCHITECTURES)}).")
        if arch not in ARCHITECTURES:
            raise InputError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}.")
        task = ARCHITECTURES[arch].task
        if classes is None:
            n = _count_classes(ckpt["state_dict"])
            if n is None:
                raise InputError(f"{path}: cannot tell how many classes the weights have; give the class names.")
            class_list = generic_classes(n)
        elif isinstance(classes, ClassList):
            class_list = classes
        else:
            names = checked_names(list(classes), "--classes")  # unique, non-empty, at most MAX_CLASSES
            class_list = ClassList.from_names(names if names[0] == "background" else [background_name(names), *names])
    input_spec = ckpt.get("input") if "arch" in ckpt else PLAIN_INPUT[task]
    entry = {"name": name, "path": str(path), "arch": arch, "task": task, "classes": class_list.to_list(),
             "input": input_spec or {}}
    spec = _spec_from_entry(entry)
    if check:
        from maskwork.core.models.catalog.weights import (
            load_model,  # torch: only when registering, never to list (ADR 0012)
        )

        load_model(spec)  # raises ModelError with the misfit in one sentence
    entries = [e for e in read_entries() if e["name"] != name]
    write_entries(entries + [entry])
    return spec


def unregister(name: str) -> None:
    entries = read_entries()
    kept = [e for e in entries if e["name"] != name]
    if len(kept) == len(entries):
        raise InputError(f"no registered model named {name!r}")
    write_entries(kept)
