"""The int8 file of a registered ONNX model: its paired int8 file, the file itself when it is int8, or the
int8 twin built from the float file (core.models.int8.onnx_quant.int8_onnx, calibrated on the caller's images,
cached). Used by the int8 backend (core.models.int8.onnx_int8) and by OnnxPredictor(int8=True)."""
from __future__ import annotations

import json
from dataclasses import replace

from maskwork.core.models.catalog.specs import ModelSpec, OnnxFile
from maskwork.core.models.onnx_models.inputs import model_input, onnx_layout, onnx_source

TWIN_ROUTE = "onnxruntime static QDQ (per-channel int8 weights, MinMax)"


def _feed(spec: ModelSpec):
    """(prepare, cache key part): Maskwork exports are fed from their metadata (onnx_quant's default),
    other files as the runner feeds them, with their layout and policy in the cache key."""
    layout = onnx_layout(spec)
    if layout.kind.startswith("maskwork-"):
        return None, ""

    key = json.dumps({"layout": layout.to_dict(), "input": spec.input.to_dict(), "mean": list(spec.input.mean),
                      "std": list(spec.input.std)}, sort_keys=True)
    return (lambda rgb: model_input(spec, rgb)), key


def int8_spec(spec: ModelSpec, calibration=None, *, cache_dir=None, num_images: int | None = None,
              use_cache: bool = True, progress=None, cancel=None) -> tuple[ModelSpec, dict]:
    """The spec that runs the int8 file (paired, already int8, or the twin built now) and how it came."""
    from maskwork.core.models.int8.onnx_quant import int8_onnx
    from maskwork.core.models.int8.quant.calibration import DEFAULT_COUNT

    src, layout = onnx_source(spec)
    if layout.int8:
        return spec, {"route": "the file is int8", "cache_path": src.path, "from_cache": True, "paired": True}
    if src.int8_path:
        paired = replace(spec, source=OnnxFile(src.int8_path, src.int8_layout))
        return paired, {"route": "your int8 file", "cache_path": src.int8_path, "from_cache": True, "paired": True}
    prepare, key = _feed(spec)
    twin = int8_onnx(src.path, calibration, prepare=prepare, prepare_key=key, cache_dir=cache_dir,
                     num_images=num_images or DEFAULT_COUNT, use_cache=use_cache, progress=progress, cancel=cancel)
    info = {"route": TWIN_ROUTE, "cache_path": str(twin.path), "from_cache": twin.from_cache,
            "calibration_images": twin.calibration_images}
    return replace(spec, source=OnnxFile(str(twin.path), replace(layout, int8=True))), info
