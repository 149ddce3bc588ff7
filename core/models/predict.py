"""Run a registry model on an image and get typed results at the image's original resolution.

    p = Predictor("maskrcnn_resnet50_fpn")            # or a ModelSpec; int8=True for the quantized one
    result = p.predict(rgb, score_threshold=0.5)      # InstanceResult | SemanticResult
    result.filtered(0.7)                              # new threshold, no new forward pass

Batches: core.models.batch.predict_batch (decoding overlapped with the model).
"""
from __future__ import annotations

import os
import time

import numpy as np
import torch

from maskwork.core.domain.progress import CancelToken, ProgressFn, check
from maskwork.core.models.catalog.registry import ModelSpec, get_model
from maskwork.core.models.catalog.weights import load_model
from maskwork.core.models.results import InstanceResult, Result, SemanticResult
from maskwork.core.models.torch_models.instance import SCORE_FLOOR, configure, detect, instance_arrays
from maskwork.core.models.torch_models.preprocess import Prepared, prepare
from maskwork.core.models.torch_models.semantic import semantic_logits, to_label_map

_threads_set = False


def _use_all_cores() -> None:
    """Once per process: intra-op threads = cores (MASKWORK_THREADS overrides, e.g. on shared machines)."""
    global _threads_set
    if not _threads_set:
        torch.set_num_threads(max(1, int(os.environ.get("MASKWORK_THREADS") or os.cpu_count() or 1)))
        _threads_set = True


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _int8(spec: ModelSpec, model: torch.nn.Module, progress, cancel) -> torch.nn.Module:
    from maskwork.core.models.int8.quantize import int8_model  # torch.ao quantization: loaded only when asked

    return int8_model(spec, model, progress=progress, cancel=cancel)


# ModelSpec.backend -> the predictor class that runs it (same interface and results as Predictor).
BACKENDS = {"onnx": ("maskwork.core.models.onnx_models.runner", "OnnxPredictor")}


class Predictor:
    """A loaded model plus how to feed it. Thread-compatible: one predict at a time per instance.

    A spec whose `backend` is not "torch" gets its backend's predictor (BACKENDS) instead."""

    def __new__(cls, spec_or_name: ModelSpec | str, *args, **kwargs):
        spec = get_model(spec_or_name) if isinstance(spec_or_name, str) else spec_or_name
        if cls is Predictor and spec.backend in BACKENDS:
            import importlib

            module, name = BACKENDS[spec.backend]
            return getattr(importlib.import_module(module), name)(spec, *args, **kwargs)
        return super().__new__(cls)

    def __init__(self, spec_or_name: ModelSpec | str, int8: bool = False, device: str | torch.device | None = None,
                 progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                 allow_download: bool | None = None, model: torch.nn.Module | None = None,
                 score_floor: float = SCORE_FLOOR) -> None:
        """`model` skips loading (e.g. a module the caller already has); int8 runs on the CPU."""
        _use_all_cores()
        self.spec = get_model(spec_or_name) if isinstance(spec_or_name, str) else spec_or_name
        self.int8 = int8
        if model is None:
            model = load_model(self.spec, progress, cancel, allow_download)
            if int8:
                model = _int8(self.spec, model, progress, cancel)
        if device is None:
            device = "cpu" if int8 else default_device()
        self.device = torch.device(device)
        self.score_floor = score_floor
        if self.spec.task == "instance":
            configure(model, self.spec.input, score_floor)
        self.model = model.eval().to(self.device)

    @property
    def task(self) -> str:
        return self.spec.task

    @property
    def classes(self):
        return self.spec.classes

    def prepare(self, image: np.ndarray, where: str = "image") -> Prepared:
        """CPU-side work (conversion, resize, normalisation); safe to run in another thread."""
        return prepare(image, self.spec.task, self.spec.input, where)

    def predict(self, image: np.ndarray, score_threshold: float = 0.5, mask_threshold: float = 0.5,
                cancel: CancelToken | None = None) -> Result:
        return self.run(self.prepare(image), score_threshold, mask_threshold, cancel)

    def run(self, prepared: Prepared, score_threshold: float = 0.5, mask_threshold: float = 0.5,
            cancel: CancelToken | None = None) -> Result:
        check(cancel)
        start = time.perf_counter()
        x = prepared.tensor.to(self.device)
        with torch.inference_mode():
            if self.spec.task == "instance":
                det = detect(self.model, x)
                masks, boxes, ids, scores = instance_arrays(det, self.spec.classes, prepared.height,
                                                            prepared.width, mask_threshold)
                return InstanceResult(masks, boxes, ids, scores, self.spec.classes, prepared.height, prepared.width,
                                      _ms(start), score_threshold)
            logits = semantic_logits(self.model, x, self.spec.input, cancel)
            labels, conf = to_label_map(logits, prepared.height, prepared.width)
            return SemanticResult(labels, conf, self.spec.classes, _ms(start))


def _ms(start: float) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1000.0
