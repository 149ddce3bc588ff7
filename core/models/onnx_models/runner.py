"""OnnxPredictor: an ONNX file behind core.models.predict.Predictor's interface and result types.

    p = Predictor("yolo11n-seg")          # a spec with backend "onnx" comes here (predict.BACKENDS)
    p.predict(rgb).filtered(0.7)          # InstanceResult; the threshold changes without a forward pass
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from maskwork.core.domain.progress import CancelToken, ProgressFn, check, report
from maskwork.core.models.catalog.registry import ModelSpec, get_model
from maskwork.core.models.onnx_models.inputs import FixedInput, prepare_input
from maskwork.core.models.onnx_models.layouts import OnnxLayout, onnx_source
from maskwork.core.models.onnx_models.session import open_session
from maskwork.core.models.onnx_models.yolo import decode
from maskwork.core.models.results import InstanceResult, Result, SemanticResult
from maskwork.core.models.torch_models.instance import SCORE_FLOOR
from maskwork.core.models.torch_models.preprocess import Prepared


class OnnxPredictor:
    """One onnxruntime session plus how to feed and decode it. One predict at a time per instance."""

    def __init__(self, spec_or_name: ModelSpec | str, int8: bool = False, device: str | None = None,
                 progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                 allow_download: bool | None = None, model=None, score_floor: float = SCORE_FLOOR) -> None:
        """`model`: an open onnxruntime session of the same file (skips loading)."""
        self.spec = get_model(spec_or_name) if isinstance(spec_or_name, str) else spec_or_name
        source, layout = onnx_source(self.spec)
        if int8 and model is None and not layout.int8:
            from maskwork.core.models.int8.onnx_int8_files import int8_spec

            # its paired int8 file, else the ONNX Runtime twin calibrated on the bundled samples (cached)
            self.spec = int8_spec(self.spec, None, progress=progress, cancel=cancel)[0]
            source, layout = onnx_source(self.spec)
            device = "cpu"
        self.path = source.path  # the file this predictor runs
        self.layout: OnnxLayout = layout
        self.int8 = int8 or self.layout.int8
        check(cancel)
        report(progress, 0, 1, f"opening {self.spec.name}")
        self.model = model if model is not None else open_session(source.path, device)
        self.device = "cuda" if self.model.get_providers()[0].startswith("CUDA") else "cpu"
        self.score_floor = score_floor
        report(progress, 1, 1, "model ready")

    @property
    def task(self) -> str:
        return self.spec.task

    @property
    def classes(self):
        return self.spec.classes

    @property
    def size_bytes(self) -> int:
        """Size of the file this predictor runs (compare's size column)."""
        return Path(self.path).stat().st_size

    def forward(self, x: np.ndarray) -> list[np.ndarray]:
        """The bare session.run (benchmarks compare against it)."""
        return self.model.run(list(self.layout.output_names), {self.layout.input_name: x})

    def prepare(self, image: np.ndarray, where: str = "image"):
        """CPU-side work (letterbox or resize, normalisation); safe to run in another thread."""
        return prepare_input(self.spec, image, where)

    def predict(self, image: np.ndarray, score_threshold: float = 0.5, mask_threshold: float = 0.5,
                cancel: CancelToken | None = None) -> Result:
        return self.run(self.prepare(image), score_threshold, mask_threshold, cancel)

    def run(self, prepared, score_threshold: float = 0.5, mask_threshold: float = 0.5,
            cancel: CancelToken | None = None) -> Result:
        check(cancel)
        start = time.perf_counter()
        kind = self.layout.kind
        if kind == "yolo-seg":
            out = self.forward(prepared.tensor)
            # masks of detections under the threshold wait until it is lowered onto them (LazyMasks)
            masks, boxes, idx, scores = decode(out, prepared, len(self.classes) - 1, self.score_floor,
                                               mask_threshold, self.layout.end2end, eager=score_threshold)
            return InstanceResult(masks, boxes, (idx + 1).astype(np.int64), scores, self.classes, prepared.height,
                                  prepared.width, _ms(start), score_threshold)
        if kind == "maskwork-instance":
            return self._rcnn(prepared, score_threshold, mask_threshold, start)
        return self._semantic(prepared, cancel, start)

    def _semantic(self, prepared: Prepared, cancel, start: float) -> SemanticResult:
        import torch

        from maskwork.core.models.torch_models.semantic import semantic_logits, to_label_map

        def net(x: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(self.forward(np.ascontiguousarray(x.numpy(), dtype=np.float32))[0])

        policy = self.spec.input
        if isinstance(prepared, FixedInput) or policy.mode != "tile":
            logits = net(prepared.tensor[None])[0]
        else:
            logits = semantic_logits(net, prepared.tensor, policy, cancel)
        labels, conf = to_label_map(logits, prepared.height, prepared.width)
        return SemanticResult(labels, conf, self.classes, _ms(start))

    def _rcnn(self, prepared: Prepared, score_threshold: float, mask_threshold: float, start: float):
        from maskwork.core.domain.masks import Mask

        boxes, labels, scores, soft = self.forward(prepared.tensor.numpy())
        order = [i for i in np.argsort(-scores, kind="stable")
                 if scores[i] >= self.score_floor and int(labels[i]) in self.classes]
        masks, kept = [], []
        for i in order:
            m = Mask.from_full(soft[i, 0] > mask_threshold)
            if not m.is_empty:
                masks.append(m)
                kept.append(i)
        xyxy = boxes[kept].reshape(-1, 4).astype(np.float32)
        xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
        return InstanceResult(masks, xywh, labels[kept].astype(np.int64), scores[kept].astype(np.float32),
                              self.classes, prepared.height, prepared.width, _ms(start), score_threshold)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
