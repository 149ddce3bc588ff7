"""Typed model outputs at the image's original resolution, ready to become annotation layers."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from maskwork.core.annotation import ClassList, Instance, Layer, Source, as_box
from maskwork.core.masks import Mask


@dataclass
class SemanticResult:
    """label_map: (H, W) uint8 class ids; confidence: (H, W) float32 softmax probability of that class."""

    label_map: np.ndarray
    confidence: np.ndarray
    classes: ClassList
    latency_ms: float = 0.0

    def to_layer(self) -> Layer:
        # shared, not copied: a prediction layer is never edited in place (accepting copies out of it) and
        # every run makes a new array; the copy cost the GUI thread ~0.1 s on 48 MP (ADR 0012)
        return Layer(label_map=self.label_map)


@dataclass
class InstanceResult:
    """All detections the model kept (before the user's score threshold), highest score first.

    Changing the score threshold is `filtered(t)`: no new forward pass.
    """

    masks: list[Mask]
    boxes: np.ndarray  # (N, 4) float32, (x, y, w, h) in image pixels
    class_ids: np.ndarray  # (N,) int, ids of `classes`
    scores: np.ndarray  # (N,) float32
    classes: ClassList
    height: int
    width: int
    latency_ms: float = 0.0
    score_threshold: float = 0.5

    def __len__(self) -> int:
        return len(self.masks)

    def keep(self, score_threshold: float | None = None) -> np.ndarray:
        t = self.score_threshold if score_threshold is None else score_threshold
        return np.flatnonzero(self.scores >= t)

    def filtered(self, score_threshold: float | None = None) -> list[Instance]:
        return [
            Instance(
                id=n + 1,
                class_id=int(self.class_ids[i]),
                mask=self.masks[i],
                score=float(self.scores[i]),
                box=as_box(self.boxes[i]),
                source=Source.MODEL,
            )
            for n, i in enumerate(self.keep(score_threshold))
        ]

    def to_layer(self, score_threshold: float | None = None) -> Layer:
        return Layer(instances=self.filtered(score_threshold))


Result = SemanticResult | InstanceResult


@dataclass
class TimedRun:
    """One model's run in a comparison: its result, its latency and its on-disk size."""

    result: Result
    latency_ms: float
    size_bytes: int
    label: str = ""
    extra: dict = field(default_factory=dict)
