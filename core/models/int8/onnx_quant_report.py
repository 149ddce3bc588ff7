"""Float vs int8 ONNX: the same latency / size / agreement report as core.models.compare (Comparison).

    f, q = OnnxSemantic("aerial.onnx"), OnnxSemantic(int8_onnx("aerial.onnx", images).path)
    c = compare_onnx(f, q, rgb, repeats=3)        # c.speedup, c.size_ratio, c.mean_agreement

OnnxSemantic runs a Maskwork semantic export in onnxruntime exactly as core.models.predict runs the
torch model (same preprocessing, tiling and resize back; only the forward differs). It is the check
harness of the int8 work; any predictor with `predict(rgb)` and `size_bytes` (the ONNX runtime's
predictor, for instance models) can be compared the same way.
"""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from maskwork.core.domain.errors import ModelError
from maskwork.core.domain.progress import CancelToken, check
from maskwork.core.models.compare import Comparison, instance_agreement, semantic_agreement
from maskwork.core.models.results import SemanticResult, TimedRun
from maskwork.core.store import bounded


def session(path: str | Path, threads: int | None = None):
    """CPU session, all optimisations, MASKWORK_THREADS (else all cores) intra-op threads."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads or max(1, int(os.environ.get("MASKWORK_THREADS") or os.cpu_count() or 1))
    vetted = bounded.check_file(path, limit=bounded.MODEL_FILE, what="ONNX model")
    return ort.InferenceSession(str(vetted), opts, providers=["CPUExecutionProvider"])


class _SessionForward:
    """Callable like a torch model (core.models.torch_models.semantic.forward): (1, 3, h, w) tensor -> logits."""

    def __init__(self, sess) -> None:
        self.session, self.input = sess, sess.get_inputs()[0].name

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, {self.input: x.contiguous().numpy()})[0])


class OnnxSemantic:
    """A Maskwork semantic ONNX export (float or int8) behind predict(rgb) -> SemanticResult."""

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        from maskwork.core.models.onnx_models.onnx_meta import (
            classes_from_metadata,
            policy_from_metadata,
            read_maskwork_metadata,
        )

        self.path = Path(path)
        meta = read_maskwork_metadata(self.path)
        if meta is None or meta["task"] != "semantic":
            raise ModelError(f"{self.path.name} is not a Maskwork semantic export (maskwork.task); use the ONNX "
                             "model predictor for other files.")
        self.meta, self.policy, self.classes = meta, policy_from_metadata(meta), classes_from_metadata(meta)
        self.forward = _SessionForward(session(self.path, threads))
        self.task = "semantic"

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size

    def logits(self, rgb: np.ndarray, cancel: CancelToken | None = None) -> torch.Tensor:
        from maskwork.core.models.torch_models.preprocess import prepare
        from maskwork.core.models.torch_models.semantic import semantic_logits

        x = prepare(rgb, "semantic", self.policy).tensor
        return semantic_logits(self.forward, x, self.policy, cancel)

    def predict(self, rgb: np.ndarray, cancel: CancelToken | None = None) -> SemanticResult:
        from maskwork.core.models.torch_models.semantic import to_label_map

        start = time.perf_counter()
        labels, conf = to_label_map(self.logits(rgb, cancel), rgb.shape[0], rgb.shape[1])
        return SemanticResult(labels, conf, self.classes, (time.perf_counter() - start) * 1000.0)


def _timed(predictor, image, repeats: int, cancel, **kw):
    runs = []
    for _ in range(max(1, repeats)):
        check(cancel)
        runs.append(predictor.predict(image, **kw))
    return runs[-1], statistics.median(r.latency_ms for r in runs)


def compare_onnx(float_predictor, int8_predictor, image: np.ndarray, *, repeats: int = 1, warmup: bool = True,
                 score_threshold: float = 0.5, cancel: CancelToken | None = None) -> Comparison:
    """Latency (median of `repeats`, after one warm-up each), file sizes and agreement, float as reference."""
    instance = getattr(float_predictor, "task", "semantic") == "instance"
    kw = {"score_threshold": score_threshold} if instance else {}
    if warmup:  # first run pays for ORT's kernel selection and allocations, not the model
        float_predictor.predict(image, **kw)
        int8_predictor.predict(image, **kw)
    fr, f_ms = _timed(float_predictor, image, repeats, cancel, **kw)
    qr, q_ms = _timed(int8_predictor, image, repeats, cancel, **kw)
    f_run = TimedRun(fr, f_ms, float_predictor.size_bytes, "float onnx")
    q_run = TimedRun(qr, q_ms, int8_predictor.size_bytes, "int8 onnx")
    if not instance:
        per_class, mean = semantic_agreement(fr, qr)
        pixels = float((fr.label_map == qr.label_map).mean())
        return Comparison(f_run, q_run, "semantic", mean, per_class=per_class, extra={"pixel_agreement": pixels})
    per, mean, extra = instance_agreement(fr, qr, score_threshold)
    return Comparison(f_run, q_run, "instance", mean, per_instance=per, extra=extra)
