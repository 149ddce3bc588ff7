"""ONNX export of registry models (float or int8), checked against Maskwork's torch model in onnxruntime.

    report = export_onnx("lraspp_mobilenet_v3_large", "out/model.onnx", int8=True)

Writes `model.onnx` (describing itself in maskwork.* metadata, core.models.onnx_models.onnx_meta) and
`model.classes.json` (classes, task, input policy and normalisation, output names) beside it.
Semantic models take a normalised (N, 3, H, W) float image and give (N, C, H, W) logits. Mask R-CNN
takes one (3, H, W) image in [0, 1] and gives boxes/labels/scores/masks, through torch's
TorchScript-based exporter (torchvision's supported route). int8 ONNX is made by
onnxruntime.quantization.quantize_static (QDQ, per-channel weights) calibrated on real images.
Every export is run once in onnxruntime on a real image and compared with the torch model;
a file that does not match is removed and the export fails with the numbers.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from maskwork.core.domain.errors import InputError, ModelError
from maskwork.core.domain.progress import CancelToken, ProgressFn, check, report
from maskwork.core.models.onnx_models.onnx_meta import write_maskwork_metadata
from maskwork.core.store import bounded

# tolerances of the check against torch (docs/BENCHMARKS.md, "Models", ONNX)
FLOAT_LOGITS_ATOL = 1e-3  # max |logit difference| allowed, float32 export vs torch
FLOAT_LABEL_AGREEMENT = 0.999  # fraction of pixels with the same argmax
INT8_LABEL_AGREEMENT = 0.95  # int8 ONNX vs torch float, fraction of pixels with the same argmax
FLOAT_BOX_ATOL = 0.5  # px, Mask R-CNN boxes of the same detections
INSTANCE_INT8_AGREEMENT = 0.5  # Mask R-CNN int8: fraction of float detections found again (box IoU >= .5)

_EXPORT_WARNINGS = [  # known, harmless, and nothing a user can act on
    (DeprecationWarning, r"You are using the legacy TorchScript-based ONNX export"),
    (DeprecationWarning, r"The feature will be removed\. Please remove usage of this function"),
    (UserWarning, r"__floordiv__ is deprecated"),
    (UserWarning, r"Converting a tensor to a Python (boolean|index|float|integer)"),
    (UserWarning, r"To copy construct from a tensor"),
    (UserWarning, r"The shape inference of .* type is missing"),
    (FutureWarning, r"`torch\.jit\.script` is deprecated"),  # torchvision's scripted helpers, Mask R-CNN
    (UserWarning, r"Exporting aten::index operator of advanced indexing"),  # indices are never negative here
    (UserWarning, r"Constant folding - Only steps=1 can be constant folded"),
    (torch.jit.TracerWarning, r".*"),  # Python values frozen by tracing: shapes stay dynamic, checked after
]


class _DropOrtQuantNotes(logging.Filter):
    """onnxruntime.quantization logs advice ("consider pre-processing", bias names) on the root logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname.replace("\\", "/") or record.levelno >= logging.ERROR


@contextlib.contextmanager
def quiet_export():
    root, drop = logging.getLogger(), _DropOrtQuantNotes()
    root.addFilter(drop)
    try:
        with warnings.catch_warnings():
            for category, message in _EXPORT_WARNINGS:
                warnings.filterwarnings("ignore", message=message, category=category)
            yield
    finally:
        root.removeFilter(drop)


@dataclass
class ExportReport:
    onnx_path: Path
    classes_path: Path
    task: str
    int8: bool
    checks: dict = field(default_factory=dict)  # measured agreement with the torch model

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in self.checks.items())
        return f"wrote {self.onnx_path} ({'int8' if self.int8 else 'float'}) and {self.classes_path.name}; {parts}"


# Architectures whose forward pads the input with Python control flow (frozen by tracing): the
# exported graph pads to this multiple itself, with shape arithmetic that stays dynamic in ONNX.
PAD_TO = {"unet_small": 16}


class _Logits(nn.Module):
    """torchvision segmentation models return {"out": logits}; ONNX gets the tensor."""

    def __init__(self, model: nn.Module, multiple: int = 1) -> None:
        super().__init__()
        self.model, self.multiple = model, multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2], x.shape[-1]
        if self.multiple > 1:
            m = self.multiple
            x = nn.functional.pad(x, [0, (m - w % m) % m, 0, (m - h % m) % m], mode="reflect")
        out = self.model(x)
        out = out["out"] if isinstance(out, dict) else out
        return out[..., :h, :w]


def _export_semantic(model: nn.Module, path: Path, opset: int, example: torch.Tensor, arch: str = "") -> None:
    with quiet_export(), torch.no_grad():
        torch.onnx.export(_Logits(model, PAD_TO.get(arch, 1)).eval(), (example[None],), str(path), dynamo=False,
                          opset_version=opset,
                          input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                        "logits": {0: "batch", 2: "height", 3: "width"}})


def _export_instance(model: nn.Module, path: Path, opset: int, example: torch.Tensor, arch: str = "") -> None:
    with quiet_export(), torch.no_grad():
        torch.onnx.export(model, ([example],), str(path), dynamo=False, opset_version=max(opset, 11),
                          input_names=["image"], output_names=["boxes", "labels", "scores", "masks"],
                          dynamic_axes={"image": {1: "height", 2: "width"}, "boxes": {0: "n"}, "labels": {0: "n"},
                                        "scores": {0: "n"}, "masks": {0: "n", 2: "height", 3: "width"}})


def _session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only: ORT's notes about unused initializers are noise here
    vetted = bounded.check_file(path, limit=bounded.MODEL_FILE, what="ONNX model")
    return ort.InferenceSession(str(vetted), opts, providers=["CPUExecutionProvider"])


class _Reader:
    """onnxruntime CalibrationDataReader over real images prepared as the torch model takes them."""

    def __init__(self, tensors: list[torch.Tensor], task: str, cancel: CancelToken | None) -> None:
        self._it = iter(tensors)
        self.task, self.cancel = task, cancel

    def get_next(self):
        check(self.cancel)
        t = next(self._it, None)
        if t is None:
            return None
        return {"image": (t[None] if self.task == "semantic" else t).numpy()}


def _quantize_onnx(src: Path, dst: Path, tensors: list[torch.Tensor], task: str, cancel) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    reader = type("Reader", (_Reader, CalibrationDataReader), {})(tensors, task, cancel)
    with quiet_export():
        quantize_static(str(src), str(dst), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        extra_options={"ActivationSymmetric": False})


def _check_semantic(model: nn.Module, path: Path, x: torch.Tensor, int8: bool) -> dict:
    with torch.no_grad():
        ref = _Logits(model)(x[None]).numpy()
    got = _session(path).run(None, {"image": x[None].numpy()})[0]
    agree = float((ref.argmax(1) == got.argmax(1)).mean())
    checks = {"max_abs_logit_diff": float(np.abs(ref - got).max()), "label_agreement": agree}
    limit = INT8_LABEL_AGREEMENT if int8 else FLOAT_LABEL_AGREEMENT
    ok = agree >= limit and (int8 or checks["max_abs_logit_diff"] <= FLOAT_LOGITS_ATOL)
    checks["passed"] = ok
    return checks


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from torchvision.ops import box_iou

    return box_iou(torch.as_tensor(a).float().reshape(-1, 4), torch.as_tensor(b).float().reshape(-1, 4)).numpy()


def _check_instance(model: nn.Module, path: Path, x: torch.Tensor, int8: bool) -> dict:
    with torch.no_grad():
        ref = model([x])[0]
    boxes, labels, scores, masks = _session(path).run(None, {"image": x.numpy()})
    n_ref, n_got = len(ref["boxes"]), len(boxes)
    checks: dict[str, int | float | bool] = {"torch_detections": n_ref, "onnx_detections": n_got}
    if n_ref == 0 or n_got == 0:
        checks["passed"] = n_ref == n_got or int8
        return checks
    iou = _box_iou(ref["boxes"].numpy(), boxes)
    found = float((iou.max(1) >= 0.5).mean())
    checks["detections_found"] = found
    if not int8:
        k = min(n_ref, n_got)
        checks["max_abs_box_diff"] = float(np.abs(ref["boxes"].numpy()[:k] - boxes[:k]).max())
        checks["max_abs_score_diff"] = float(np.abs(ref["scores"].numpy()[:k] - scores[:k]).max())
        checks["passed"] = n_ref == n_got and checks["max_abs_box_diff"] <= FLOAT_BOX_ATOL
    else:
        checks["passed"] = found >= INSTANCE_INT8_AGREEMENT
    return checks


def export_onnx(spec_or_name, out_path: str | Path, int8: bool = False, opset: int = 17,
                model: nn.Module | None = None, images=None, progress: ProgressFn | None = None,
                cancel: CancelToken | None = None) -> ExportReport:
    """Export, write the classes JSON, verify in onnxruntime. `model` skips loading the weights;
    `images` (arrays, paths or a folder) calibrate int8 and check the export (default: bundled samples)."""
    from maskwork.core.models.int8.quant import calibration

    if isinstance(spec_or_name, str):
        from maskwork.core.models.catalog.registry import get_model

        spec = get_model(spec_or_name)
    else:
        spec = spec_or_name
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".onnx":
        raise InputError(f"export: {out_path} should end in .onnx")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if model is None:
        from maskwork.core.models.catalog.weights import load_model

        model = load_model(spec, progress, cancel)
    model = model.eval().cpu()
    if spec.task == "instance":
        from maskwork.core.models.torch_models.instance import configure

        configure(model, spec.input)
    items = calibration.resolve(images, 8, spec.name)
    tensors = list(calibration.inputs(items, spec))
    report(progress, 1, 4, "exporting to ONNX")
    # work on temporary names beside the target: an existing file is replaced only by a checked export
    work = out_path.with_name(out_path.stem + ".partial.onnx")
    float_path = out_path.with_name(out_path.stem + ".float.partial.onnx") if int8 else work
    exporter = _export_instance if spec.task == "instance" else _export_semantic
    try:
        try:
            exporter(model, float_path, opset, tensors[0], spec.arch)
        except Exception as exc:
            raise ModelError(f"ONNX export of {spec.name} ({spec.arch}) failed in torch.onnx: {type(exc).__name__}: "
                             f"{str(exc)[:300]}. Use the model inside Maskwork instead.") from exc
        check(cancel)
        if int8:
            report(progress, 2, 4, "quantizing the ONNX model (onnxruntime)")
            _quantize_onnx(float_path, work, tensors, spec.task, cancel)
        write_maskwork_metadata(work, spec)  # the file reopens with task, classes and input policy
        report(progress, 3, 4, "checking in onnxruntime")
        checker = _check_instance if spec.task == "instance" else _check_semantic
        checks = checker(model, work, tensors[-1], int8)
        if not checks.get("passed"):
            raise ModelError(f"the ONNX export of {spec.name} does not match the torch model on a real image "
                             f"({checks}); nothing was written. Export in float or report this model.")
        os.replace(work, out_path)
    finally:
        work.unlink(missing_ok=True)
        float_path.unlink(missing_ok=True)
    classes_path = out_path.with_name(out_path.stem + ".classes.json")
    meta = {
        "model": spec.name, "arch": spec.arch, "task": spec.task, "int8": int8, "opset": opset,
        "classes": spec.classes.to_list(), "input_policy": spec.input.to_dict(),
        "input": ({"name": "image", "shape": "(N, 3, H, W) float32", "normalise": "(rgb/255 - mean) / std",
                   "mean": list(spec.input.mean), "std": list(spec.input.std)} if spec.task == "semantic" else
                  {"name": "image", "shape": "(3, H, W) float32 RGB in [0, 1]",
                   "note": "the model resizes and normalises internally"}),
        "outputs": (["logits (N, C, H, W): argmax over C is the class id"] if spec.task == "semantic" else
                    ["boxes (n, 4) xyxy", "labels (n,) class ids", "scores (n,)", "masks (n, 1, H, W) soft"]),
        "check": checks,
    }
    classes_path.write_text(json.dumps(meta, indent=1))
    report(progress, 4, 4, "done")
    return ExportReport(out_path, classes_path, spec.task, int8, checks)
