"""models.json entries of ONNX files -> ModelSpec (core.models.onnx_models.register writes the entries)."""
from __future__ import annotations

from dataclasses import replace

from maskwork.core.models.catalog.specs import ModelSpec, OnnxFile
from maskwork.core.models.onnx_models.layouts import OnnxLayout, classes_from, policy_from


def spec_of(name, path, task, classes, policy, layout, description) -> ModelSpec:
    return ModelSpec(name, task, "onnx", classes, policy, OnnxFile(path, layout), description, backend="onnx")


def spec_from_entry(entry: dict) -> ModelSpec:
    base = policy_from({"mode": entry["input"].get("mode", "resize")})
    policy = policy_from({k: v for k, v in entry["input"].items() if k != "mode"}, base)
    spec = spec_of(entry["name"], entry["path"], entry["task"], classes_from(entry["classes"]), policy,
                   OnnxLayout.from_dict(entry["layout"]), entry.get("description", "ONNX model"))
    if not entry.get("int8_path"):
        return spec
    paired = OnnxFile(entry["path"], OnnxLayout.from_dict(entry["layout"]), entry["int8_path"],
                      OnnxLayout.from_dict(entry["int8_layout"]))
    return replace(spec, source=paired)
