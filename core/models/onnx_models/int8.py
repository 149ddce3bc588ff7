"""int8 of a registered ONNX model (core.models.int8's "onnx" backend; ADR 0009).

An entry is one of: a float file (its int8 twin is built by core.models.onnx_quant.int8_onnx, calibrated
on the caller's images, cached), a float file paired with the user's int8 file of the same model
(OnnxFile.int8_path: the toggle switches files), or an int8 file alone (it runs in int8 only).
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from maskwork.core.models.specs import ModelSpec, OnnxFile

TWIN_ROUTE = "onnxruntime static QDQ (per-channel int8 weights, MinMax)"


def support(spec: ModelSpec):
    from maskwork.core.models.int8 import Int8Support

    src = spec.source
    if src.int8_path:
        return Int8Support("paired", f"Switch {spec.name} between its float file {Path(src.path).name} and its "
                                     f"int8 file {Path(src.int8_path).name}.")
    if src.layout.int8:
        return Int8Support("only", f"{Path(src.path).name} is already an int8 file, so {spec.name} runs in int8 "
                                   "only; register its float file too to switch between them.")
    return Int8Support("build", "Run the int8 twin of this ONNX file (ONNX Runtime static quantization, calibrated "
                                "on the project's images): faster on CPU, slightly different masks. The first use "
                                "builds and caches it.")


def _feed(spec: ModelSpec):
    """(prepare, cache key part): Maskwork exports are fed from their metadata (onnx_quant's default),
    other files as the runner feeds them, with their layout and policy in the cache key."""
    layout = spec.source.layout
    if layout.kind.startswith("maskwork-"):
        return None, ""
    from maskwork.core.models.onnx_models.runner import model_input

    key = json.dumps({"layout": layout.to_dict(), "input": spec.input.to_dict(), "mean": list(spec.input.mean),
                      "std": list(spec.input.std)}, sort_keys=True)
    return (lambda rgb: model_input(spec, rgb)), key


def int8_spec(spec: ModelSpec, calibration=None, *, cache_dir=None, num_images: int | None = None,
              use_cache: bool = True, progress=None, cancel=None) -> tuple[ModelSpec, dict]:
    """The spec that runs the int8 file (paired, already int8, or the twin built now) and how it came."""
    from maskwork.core.models.onnx_quant import int8_onnx
    from maskwork.core.models.quant.calibration import DEFAULT_COUNT

    src = spec.source
    if src.layout.int8:
        return spec, {"route": "the file is int8", "cache_path": src.path, "from_cache": True, "paired": True}
    if src.int8_path:
        paired = replace(spec, source=OnnxFile(src.int8_path, src.int8_layout))
        return paired, {"route": "your int8 file", "cache_path": src.int8_path, "from_cache": True, "paired": True}
    prepare, key = _feed(spec)
    twin = int8_onnx(src.path, calibration, prepare=prepare, prepare_key=key, cache_dir=cache_dir,
                     num_images=num_images or DEFAULT_COUNT, use_cache=use_cache, progress=progress, cancel=cancel)
    info = {"route": TWIN_ROUTE, "cache_path": str(twin.path), "from_cache": twin.from_cache,
            "calibration_images": twin.calibration_images}
    return replace(spec, source=OnnxFile(str(twin.path), replace(src.layout, int8=True))), info


def build(float_predictor, calibration=None, **kw):
    """OnnxPredictor of the int8 file of `float_predictor`'s model (CPU, as every int8 model)."""
    from maskwork.core.models.onnx_models.runner import OnnxPredictor

    spec, info = int8_spec(float_predictor.spec, calibration, **kw)
    if spec is float_predictor.spec:
        predictor = float_predictor  # already int8: nothing to build
    else:
        predictor = OnnxPredictor(spec, device="cpu", progress=kw.get("progress"), cancel=kw.get("cancel"))
    predictor.int8_info = info
    return predictor
