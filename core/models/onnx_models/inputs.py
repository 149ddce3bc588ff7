"""What an ONNX file is fed: its input array for an image (letterbox, resize or stretch, normalisation), for a
prediction (core.models.onnx_models.runner) and for int8 calibration (core.models.int8.onnx_int8_files)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskwork.core.domain.errors import ModelError
from maskwork.core.models.catalog.registry import InputPolicy, ModelSpec, OnnxFile
from maskwork.core.models.onnx_models.layouts import OnnxLayout
from maskwork.core.models.onnx_models.yolo import letterbox
from maskwork.core.models.torch_models.preprocess import Prepared, as_rgb, prepare


@dataclass
class FixedInput(Prepared):
    """A normalised image stretched to the file's fixed input size (semantic nets with a fixed input)."""


def onnx_source(spec: ModelSpec) -> tuple[OnnxFile, OnnxLayout]:
    """The ONNX file of `spec` and its layout (specs.OnnxFile types the layout loosely: specs knows no layouts)."""
    source = spec.source
    if not isinstance(source, OnnxFile) or not isinstance(source.layout, OnnxLayout):
        raise ModelError(f"model {spec.name} is not an ONNX file with a known layout; register it again.")
    return source, source.layout


def onnx_layout(spec: ModelSpec) -> OnnxLayout:
    return onnx_source(spec)[1]


def prepare_input(spec: ModelSpec, image: np.ndarray, where: str = "image"):
    """What OnnxPredictor.run takes for `image` (letterbox, resize or stretch, normalisation)."""
    layout = onnx_layout(spec)
    kind, fixed = layout.kind, layout.fixed_size
    if kind == "yolo-seg":
        return letterbox(as_rgb(image, where), fixed or layout.imgsz, layout.stride, fixed is not None)
    if kind == "maskwork-instance":
        return prepare(image, "instance", spec.input, where)  # the graph resizes and normalises
    if fixed:
        import torch.nn.functional as F

        unscaled = InputPolicy("tile", mean=spec.input.mean, std=spec.input.std)  # normalise only
        p = prepare(image, "semantic", unscaled, where)
        t = F.interpolate(p.tensor[None], size=fixed, mode="bilinear", align_corners=False, antialias=True)[0]
        return FixedInput(t, p.height, p.width)
    return prepare(image, "semantic", spec.input, where)


def model_input(spec: ModelSpec, rgb: np.ndarray) -> np.ndarray:
    """The array one forward pass of the file gets for `rgb` (tiled nets: the centre tile): int8 calibration."""
    p = prepare_input(spec, rgb, "calibration image")
    t = p.tensor if isinstance(p.tensor, np.ndarray) else p.tensor.numpy()
    if onnx_layout(spec).kind in ("yolo-seg", "maskwork-instance"):
        return t  # (1, 3, h, w) letterboxed / (3, H, W) image
    if not isinstance(p, FixedInput) and spec.input.mode == "tile":
        tile, (h, w) = spec.input.tile, t.shape[-2:]
        y, x = max(0, (h - tile) // 2), max(0, (w - tile) // 2)
        t = t[:, y : y + tile, x : x + tile]
    return np.ascontiguousarray(t[None], np.float32)
