"""Models for evaluation: `make_predictor` gives the app's Predictor for a registry name or a checkpoint
file. `CheckpointRunner` runs a checkpoint with the same conventions without the registry (fallback, and
an independent check in the tests): semantic = ImageNet-normalised tiles at the recorded scale,
instance = Mask R-CNN's own resize to min_size/max_size. Results are core.models.results types.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.errors import ModelError
from maskwork.core.domain.masks import Mask
from maskwork.core.models.catalog.registry import get_model
from maskwork.core.models.catalog.specs import OWN_RCNN, OWN_TILE, ModelSpec, UserCheckpoint, spec_with_header
from maskwork.core.models.predict import Predictor
from maskwork.core.models.results import InstanceResult, SemanticResult
from maskwork.core.models.torch_models.architectures import ARCHITECTURES
from maskwork.core.models.torch_models.checkpoint import read_checkpoint
from maskwork.core.training import instance as inst
from maskwork.core.training import semantic as sem


class CheckpointRunner:
    def __init__(self, path: str | Path, device: str | None = None):
        ckpt = read_checkpoint(path)
        if "arch" not in ckpt:
            raise ModelError(f"{path} is a plain state dict without architecture or classes; evaluate it through a "
                             "registered model (maskwork register-model) instead")
        if ckpt["arch"] not in ARCHITECTURES:
            raise ModelError(f"{path} needs architecture {ckpt['arch']!r}, unknown here ({', '.join(ARCHITECTURES)})")
        self.path, self.arch, self.task = Path(path), ckpt["arch"], ckpt["task"]
        self.classes = ClassList.from_list(ckpt["classes"])
        self.input = dict(ckpt.get("input") or {})
        self.training = ckpt.get("training") or {}
        self.device = torch.device(device or "cpu")
        self.model = ARCHITECTURES[self.arch].build(max(self.classes.ids()) + 1)
        try:
            self.model.load_state_dict(ckpt["state_dict"])
        except RuntimeError as exc:
            raise ModelError(f"{path}: weights do not fit architecture {self.arch} ({str(exc)[:200]})") from exc
        self.model.to(self.device).eval()
        if self.task == "instance":
            inst.set_train_mode(self.model, False, int(self.input.get("min_size", 800)),
                                int(self.input.get("max_size", 1333)))
            # torch's stub types Module attributes as Tensor | Module; torchvision's RoIHeads keeps a plain int here
            self.model.roi_heads.detections_per_img = int(  # type: ignore[union-attr]
                self.input.get("detections_per_img", 100))

    def predict(self, rgb: np.ndarray, score_threshold: float = 0.5):
        t0 = time.perf_counter()
        if self.task == "semantic":
            label_map = sem.predict_label_map(self.model, rgb, int(self.input.get("tile", 512)), self.device,
                                              float(self.input.get("scale", 1.0)))
            ms = (time.perf_counter() - t0) * 1000
            return SemanticResult(label_map, np.ones(label_map.shape, np.float32), self.classes, ms)
        out = inst.predict(self.model, rgb, self.device)
        h, w = rgb.shape[:2]
        masks = [Mask.from_full(m) for m in (out["masks"][:, 0] > 0.5).numpy()]
        boxes = out["boxes"].numpy().astype(np.float32)
        boxes[:, 2:] -= boxes[:, :2]  # x0y0x1y1 -> xywh
        ms = (time.perf_counter() - t0) * 1000
        return InstanceResult(masks, boxes, out["labels"].numpy(), out["scores"].numpy().astype(np.float32),
                              self.classes, h, w, ms, score_threshold)


def make_predictor(model: str | Path, device: str | None = None, int8: bool = False):
    """The app's Predictor for a registry name or a checkpoint file (described by its own header)."""
    if not Path(model).is_file() or Path(model).suffix.lower() == ".onnx":  # an ONNX file: the registry says how
        return Predictor(get_model(str(model)), int8=int8, device=device)
    ckpt = read_checkpoint(model)
    if "arch" not in ckpt:
        raise ModelError(f"{model} is a plain state dict without architecture or classes; register it with "
                         "`maskwork register-model --arch ...` and evaluate it by name")
    task = ckpt["task"]
    base = ModelSpec(Path(model).stem, task, ckpt["arch"], ClassList.from_list(ckpt["classes"]),
                     OWN_RCNN if task == "instance" else OWN_TILE, UserCheckpoint(str(model)), "checkpoint")
    spec = spec_with_header(base, {k: ckpt[k] for k in ("arch", "task", "classes", "input") if k in ckpt})
    return Predictor(spec, int8=int8, device=device)
