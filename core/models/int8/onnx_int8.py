"""int8 of a registered ONNX model (core.models.int8.dispatch's "onnx" backend; ADR 0009).

An entry is one of: a float file (its int8 twin is built by core.models.int8.onnx_quant.int8_onnx, calibrated
on the caller's images, cached), a float file paired with the user's int8 file of the same model
(OnnxFile.int8_path: the toggle switches files), or an int8 file alone (it runs in int8 only).
"""
from __future__ import annotations

from pathlib import Path

from maskwork.core.models.catalog.specs import ModelSpec


def support(spec: ModelSpec):
    from maskwork.core.models.int8.dispatch import Int8Support
    from maskwork.core.models.onnx_models.layouts import onnx_source

    src, layout = onnx_source(spec)
    if src.int8_path:
        return Int8Support("paired", f"Switch {spec.name} between its float file {Path(src.path).name} and its "
                                     f"int8 file {Path(src.int8_path).name}.")
    if layout.int8:
        return Int8Support("only", f"{Path(src.path).name} is already an int8 file, so {spec.name} runs in int8 "
                                   "only; register its float file too to switch between them.")
    return Int8Support("build", "Run the int8 twin of this ONNX file (ONNX Runtime static quantization, calibrated "
                                "on the project's images): faster on CPU, slightly different masks. The first use "
                                "builds and caches it.")


def build(float_predictor, calibration=None, **kw):
    """OnnxPredictor of the int8 file of `float_predictor`'s model (CPU, as every int8 model)."""
    from maskwork.core.models.int8.onnx_int8_files import int8_spec
    from maskwork.core.models.onnx_models.runner import OnnxPredictor

    spec, info = int8_spec(float_predictor.spec, calibration, **kw)
    if spec is float_predictor.spec:
        predictor = float_predictor  # already int8: nothing to build
    else:
        predictor = OnnxPredictor(spec, device="cpu", progress=kw.get("progress"), cancel=kw.get("cancel"))
    predictor.int8_info = info
    return predictor
