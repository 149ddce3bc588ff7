"""Typed model outputs at the image's original resolution, ready to become annotation layers."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from maskwork.core.domain.annotation import ClassList, Instance, Layer, Source, as_box
from maskwork.core.domain.masks import Mask
from maskwork.core.models.lazy_masks import LazyMasks


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

    Changing the score threshold is `filtered(t)`: no new forward pass. `masks` may be a LazyMasks (YOLO:
    the masks of detections under the run's threshold are decoded when first read); a detection whose mask
    decodes empty is dropped then, as an eager decode drops it. keep / filtered / to_layer decode only down
    to their threshold; reading masks, boxes, class_ids or scores decodes the rest (the arrays are those
    an eager decode gives). Indices keep returned stay valid: only detections after them are ever dropped.
    """

    masks: list[Mask] | LazyMasks
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
        """Indices of the detections scoring >= the threshold (their masks decoded)."""
        t = self.score_threshold if score_threshold is None else score_threshold
        self._settle(t)
        return np.flatnonzero(self._scores >= t)

    def filtered(self, score_threshold: float | None = None) -> list[Instance]:
        keep = self.keep(score_threshold)  # the arrays as they stand: what is under the threshold may wait
        return [
            Instance(
                id=n + 1,
                class_id=int(self._class_ids[i]),
                mask=self._masks[i],
                score=float(self._scores[i]),
                box=as_box(self._boxes[i]),
                source=Source.MODEL,
            )
            for n, i in enumerate(keep)
        ]

    def to_layer(self, score_threshold: float | None = None) -> Layer:
        return Layer(instances=self.filtered(score_threshold))

    def relabelled(self, relabel, classes: ClassList, as_type: type | None = None) -> InstanceResult:
        """The detections in another class list: relabel(class_ids) -> (new ids, keep flags); `as_type` an
        InstanceResult subclass (default: this one's). Masks not decoded yet stay so (a YOLO model's 80
        classes mapped onto a project's few decode only what is shown)."""
        ids, keep = relabel(self._class_ids)
        idx = np.flatnonzero(keep)
        masks = self._masks.take(idx) if isinstance(self._masks, LazyMasks) else [self._masks[i] for i in idx]
        return (as_type or type(self))(masks, self._boxes[idx], ids[idx], self._scores[idx], classes, self.height,
                              self.width, self.latency_ms, self.score_threshold)

    def _settle(self, t: float | None) -> None:
        """Decode the pending masks up to the last detection scoring >= t (all when None) and drop the empty
        ones. Only detections after the settled ones are dropped, so earlier indices stay valid.

        The per-detection fields live in _masks, _boxes, _class_ids, _scores (the properties below);
        _settled counts the leading detections of a LazyMasks whose masks are decoded and not empty."""
        masks, n = self._masks, len(self._masks)
        if not isinstance(masks, LazyMasks) or self._settled >= n:
            return
        above = np.flatnonzero(self._scores >= t) if t is not None else [n - 1]
        end = int(above[-1]) + 1 if len(above) else 0
        if end <= self._settled:
            return
        empty = [i for i in range(self._settled, end) if masks[i].is_empty]
        if empty:
            kept = np.delete(np.arange(n), empty)
            self._masks: list[Mask] | LazyMasks = masks.take(kept)
            self._boxes: np.ndarray = self._boxes[kept]
            self._class_ids: np.ndarray = self._class_ids[kept]
            self._scores: np.ndarray = self._scores[kept]
        self._settled: int = end - len(empty)


def _detection_field(name: str) -> property:
    """masks, boxes, class_ids, scores: reading one settles every detection (eager semantics for every
    reader that does not go through keep)."""
    private = "_" + name

    def read(self: InstanceResult):
        self._settle(None)
        return getattr(self, private)

    def write(self: InstanceResult, value) -> None:
        setattr(self, private, value)
        if name == "masks":
            self._settled = 0

    return property(read, write)


for _name in ("masks", "boxes", "class_ids", "scores"):  # after @dataclass: its __init__ goes through them
    setattr(InstanceResult, _name, _detection_field(_name))


Result = SemanticResult | InstanceResult


@dataclass
class TimedRun:
    """One model's run in a comparison: its result, its latency and its on-disk size."""

    result: Result
    latency_ms: float
    size_bytes: int
    label: str = ""
    extra: dict = field(default_factory=dict)
