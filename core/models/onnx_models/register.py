"""Register ONNX files as the user's models (entries in <config>/models.json with "backend": "onnx").

A YOLO-seg or Maskwork export describes itself. A generic semantic net is described by the user:
`user = {"classes": [...], "input": {InputPolicy fields, mean, std}}` from CLI flags or the dialog,
else a JSON sidecar beside the file (`NAME.json` or the `NAME.classes.json` that export-model writes),
with the same keys ("input_policy" is read as well). The file is opened and run once on a grey
image before anything is written, so a misfit is reported at registration.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.errors import InputError, ModelError
from core.models.onnx_models.layouts import OnnxLayout, classes_from, policy_from, recognise
from core.models.onnx_models.session import open_session
from core.models.registry import MODELS, ModelSpec, OnnxFile


def sidecar(path: Path) -> dict:
    """{"classes", "input"} from NAME.json / NAME.classes.json beside the file ({} when none)."""
    for candidate in (path.with_suffix(".json"), path.with_name(path.stem + ".classes.json")):
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ModelError(f"{candidate.name}: expected JSON with 'classes' and 'input', it cannot be read "
                                 f"({exc}).") from exc
            if not isinstance(data, dict):
                raise ModelError(f"{candidate.name}: expected a JSON object with 'classes' and 'input'.")
            policy = {**(data.get("input_policy") or {}), **(data.get("input") or {})}
            keys = ("mode", "resize", "max_size", "tile", "overlap", "scale", "mean", "std")
            return {"classes": data.get("classes"), "input": {k: v for k, v in policy.items() if k in keys}}
    return {}


def describe_file(path: str | Path, user: dict | None = None):
    """(Recognised, session) for `path`, or ModelError in one sentence. Nothing is written."""
    path = Path(path).expanduser().resolve()
    session = open_session(path, "cpu")
    given = {k: v for k, v in (user or {}).items() if v}
    found = {**sidecar(path), **given}
    return recognise(path, session, found), session


def _smoke_test(rec, session, path: Path) -> None:
    """One run on a grey image: the declared layout must really come out of the file."""
    from core.models.onnx_models.runner import OnnxPredictor

    spec = _spec("check", str(path), rec.task, rec.classes, rec.policy, rec.layout, "")
    grey = np.full((96, 128, 3), 128, np.uint8)
    try:
        OnnxPredictor(spec, model=session).predict(grey)
    except ModelError:
        raise
    except Exception as exc:  # shapes that the metadata promised but the graph does not give
        raise ModelError(f"{path.name} was recognised as {rec.layout.kind} but running it failed: "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from exc


def register_onnx(path: str | Path, name: str | None = None, user: dict | None = None) -> ModelSpec:
    """Recognise, test-run and add the file to the user's models; returns its spec."""
    from core.models.user_models import _read_entries, _write_entries

    path = Path(path).expanduser().resolve()
    name = name or path.stem
    if name in MODELS:
        raise InputError(f"{name!r} is a built-in model name; register {path.name} under another name (--name).")
    rec, session = describe_file(path, user)
    _smoke_test(rec, session, path)
    entry = {"name": name, "path": str(path), "backend": "onnx", "task": rec.task, "arch": "onnx",
             "classes": rec.classes.to_list(), "input": {"mode": rec.policy.mode, **_policy_dict(rec.policy)},
             "layout": rec.layout.to_dict(), "description": rec.description}
    _write_entries([e for e in _read_entries() if e["name"] != name] + [entry])
    return spec_from_entry(entry)


def _policy_dict(policy) -> dict:
    d = policy.to_dict()
    d.pop("mode")
    return {**d, "mean": list(policy.mean), "std": list(policy.std)}


def _spec(name, path, task, classes, policy, layout, description) -> ModelSpec:
    return ModelSpec(name, task, "onnx", classes, policy, OnnxFile(path, layout), description, backend="onnx")


def spec_from_entry(entry: dict) -> ModelSpec:
    base = policy_from({"mode": entry["input"].get("mode", "resize")})
    policy = policy_from({k: v for k, v in entry["input"].items() if k != "mode"}, base)
    return _spec(entry["name"], entry["path"], entry["task"], classes_from(entry["classes"]), policy,
                 OnnxLayout.from_dict(entry["layout"]), entry.get("description", "ONNX model"))


def user_input(classes: str | None = None, resize: int | None = None, tile: int | None = None,
               mean: str | None = None, std: str | None = None) -> dict:
    """The user's description of a generic semantic net, from CLI-style text fields."""
    values: dict = {}
    if resize:
        values.update(mode="resize", resize=resize, max_size=max(2048, resize))
    if tile:
        values.update(mode="tile", tile=tile)
    for key, text in (("mean", mean), ("std", std)):
        if text:
            try:
                nums = [float(v) for v in text.split(",")]
            except ValueError:
                raise InputError(f"--{key} expects three numbers like 0.485,0.456,0.406, got {text!r}") from None
            if len(nums) != 3:
                raise InputError(f"--{key} expects three numbers (R,G,B), got {len(nums)}")
            values[key] = nums
    names = [c.strip() for c in classes.split(",") if c.strip()] if classes else None
    return {"classes": names, "input": values}
