"""Maskwork's self-description inside ONNX files (metadata_props), written by `export-model`.

    write_maskwork_metadata("aerial.onnx", spec)       # at export (and copied onto int8 twins)
    meta = read_maskwork_metadata("aerial.onnx")       # None for a file Maskwork did not export
    meta["task"], meta["classes"], meta["input"], meta["model"]
    policy_from_metadata(meta), classes_from_metadata(meta)

Keys (strings, as ONNX stores them):
  maskwork.format_version  "1"
  maskwork.model           source model name (registry name), also the float/int8 pairing name
  maskwork.task            "semantic" | "instance"
  maskwork.classes         JSON [{"id", "name", "color"}, ...]
  maskwork.input           JSON of every InputPolicy field: mode, min_size, max_size, resize, tile,
                           overlap, scale, mean, std, detections_per_img
What the graph takes is fixed by the task: semantic = (N, 3, H, W) float32 normalised with mean/std
after the policy's resize/scale (logits (N, C, H, W) out); instance = one (3, H, W) RGB image in
[0, 1] (the graph resizes and normalises itself; boxes, labels, scores, masks out).
"""
from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from maskwork.core.domain.errors import ModelError
from maskwork.core.models.catalog.meta_checks import checked_class_list, checked_policy
from maskwork.core.store import bounded
from maskwork.core.store.schemas import loads

PREFIX = "maskwork."
FORMAT_VERSION = "1"
KEYS = ("maskwork.format_version", "maskwork.model", "maskwork.task", "maskwork.classes", "maskwork.input")
TASKS = ("semantic", "instance")
POLICY_FIELDS = ("mode", "min_size", "max_size", "resize", "tile", "overlap", "scale", "mean", "std",
                 "detections_per_img")


def metadata_for(spec) -> dict[str, str]:
    """The five maskwork.* entries describing a registry model (ModelSpec)."""
    policy = {k: getattr(spec.input, k) for k in POLICY_FIELDS}
    policy["mean"], policy["std"] = list(policy["mean"]), list(policy["std"])
    return {
        "maskwork.format_version": FORMAT_VERSION,
        "maskwork.model": spec.name,
        "maskwork.task": spec.task,
        "maskwork.classes": json.dumps(spec.classes.to_list()),
        "maskwork.input": json.dumps(policy),
    }


def set_metadata(model_proto, entries: dict[str, str]) -> None:
    """Replace these keys in an onnx.ModelProto's metadata_props, keep every other entry."""
    keep = [(p.key, p.value) for p in model_proto.metadata_props if p.key not in entries]
    del model_proto.metadata_props[:]
    for key, value in keep + sorted(entries.items()):
        entry = model_proto.metadata_props.add()
        entry.key, entry.value = key, str(value)


def write_maskwork_metadata(path: str | Path, spec) -> None:
    """Add the maskwork.* entries to an ONNX file in place (the caller writes to a temporary name)."""
    import onnx

    m = onnx.load(str(bounded.check_file(path, limit=bounded.MODEL_FILE, what="ONNX model")))
    set_metadata(m, metadata_for(spec))
    onnx.save(m, str(path))


def raw_metadata(path: str | Path) -> dict[str, str]:
    """Every metadata_props entry of an ONNX file (Maskwork's, Ultralytics' `names`/`task`, ...)."""
    import onnx

    vetted = bounded.check_file(path, limit=bounded.MODEL_FILE, what="ONNX model")
    try:
        m = onnx.load(str(vetted), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError, truncated file, not ONNX at all
        raise ModelError(f"{path} is not a readable ONNX file ({type(exc).__name__}); export or download it "
                         "again.") from exc
    return {p.key: p.value for p in m.metadata_props}


def parse_metadata(raw: dict[str, str], where: str = "the ONNX file") -> dict | None:
    """maskwork.* entries -> {"format_version", "model", "task", "classes", "input"}; None when absent.

    Present but broken (bad JSON, unknown task, newer format) is a ModelError of one sentence."""
    if not any(k.startswith(PREFIX) for k in raw):
        return None
    missing = [k for k in KEYS if k not in raw]
    if missing:
        raise ModelError(f"{where} has Maskwork metadata without {', '.join(missing)}; export it again with "
                         "this Maskwork's export-model.")
    version = raw["maskwork.format_version"]
    if version != FORMAT_VERSION:
        raise ModelError(f"{where} has Maskwork metadata format {version!r}; this Maskwork reads format "
                         f"{FORMAT_VERSION!r}: update Maskwork or export the model again.")
    task = raw["maskwork.task"]
    if task not in TASKS:
        raise ModelError(f"{where}: maskwork.task is {task!r}, expected one of {', '.join(TASKS)}.")
    try:
        classes, policy = loads(raw["maskwork.classes"], where), loads(raw["maskwork.input"], where)
        ok = (isinstance(classes, list) and classes and isinstance(policy, dict)
              and all({"id", "name", "color"} <= set(c) for c in classes) and "mode" in policy)
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ModelError(f"{where}: maskwork.classes must be a JSON list of {{id, name, color}} and "
                         "maskwork.input a JSON object with 'mode'; export the model again.")
    classes = checked_class_list(classes, f"{where}: maskwork.classes")  # ids and colours sized predict's buffers
    return {"format_version": version, "model": raw["maskwork.model"], "task": task, "classes": classes,
            "input": policy}


def read_maskwork_metadata(path: str | Path) -> dict | None:
    """Parsed maskwork.* metadata of an ONNX file, or None when Maskwork did not export it."""
    return parse_metadata(raw_metadata(path), str(path))


def policy_from_metadata(meta: dict):
    """core.models.catalog.registry.InputPolicy from parsed metadata (unknown fields ignored: newer writers)."""
    from maskwork.core.models.catalog.specs import InputPolicy

    names = {f.name for f in fields(InputPolicy)}
    values = {k: v for k, v in meta["input"].items() if k in names}
    values.update(checked_policy(values, "maskwork.input"))
    try:
        return InputPolicy(**values)
    except TypeError as exc:
        raise ModelError(f"maskwork.input does not describe an input policy ({exc}); export the model "
                         "again.") from exc


def classes_from_metadata(meta: dict):
    from maskwork.core.domain.annotation import ClassList

    return ClassList.from_list(meta["classes"])
