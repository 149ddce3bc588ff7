"""One image's stored annotation (.maskwork/annotations/<image>.json, and its autosave snapshot under
.maskwork/autosave/annotations/): the layout of core.store.annotation_json, version 1."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from maskwork.core.store import bounded
from maskwork.core.store.schemas.base import ClassId, Count, Nanoseconds, Offset, Part, Side, StoredFile, Version

Status = Literal["not started", "predicted", "corrected"]
Source = Literal["model", "person", "refined"]
Id = Annotated[int, Field(ge=0, le=(1 << 53))]


class LabelMapPng(Part):
    png: str
    dtype: Literal["uint8", "uint16"] = "uint8"


class Rle(Part):
    size: Annotated[list[Count], Field(min_length=2, max_length=2)]
    counts: str


class StoredInstance(Part):
    id: Id
    class_id: ClassId
    x0: Offset
    y0: Offset
    rle: Rle
    score: float | None = None
    box: Annotated[list[float], Field(min_length=4, max_length=4)] | None = None
    source: Source = "person"
    iscrowd: bool = False

    def outside(self, width: int, height: int) -> str | None:
        """Why the instance's crop does not lie inside a width x height image (None: it does)."""
        h, w = self.rle.size
        if h and w and (self.x0 + w > width or self.y0 + h > height):
            return f"its {w}x{h} crop at x0={self.x0}, y0={self.y0} runs past the {width}x{height} image"
        return None


class StoredLayer(Part):
    label_map: LabelMapPng | None = None
    instances: list[StoredInstance] = []


class PredictionInfo(Part):
    model: str = ""
    int8: bool = False
    latency_ms: float | None = None
    score_threshold: float | None = None
    run_key: str | None = None


class JournalMark(Part):
    log: str
    seq: Annotated[int, Field(ge=0)]


class AnnotationFile(StoredFile):
    WHAT = "annotation file"
    FIX = "restore it from a backup or delete it to start this image again."
    LIMIT = bounded.ANNOTATION_JSON
    SUPPORTED_VERSION = 1

    format: Literal["maskwork-annotation"]
    version: Version
    file_name: str
    width: Side
    height: Side
    status: Status = "not started"
    saved_ns: Nanoseconds = 0
    corrected: StoredLayer | None = None
    prediction: StoredLayer | None = None
    prediction_info: PredictionInfo | None = None
    journal: JournalMark | None = None

    @model_validator(mode="after")
    def _inside_the_image(self) -> "AnnotationFile":
        for layer_name in ("corrected", "prediction"):
            layer = getattr(self, layer_name)
            for k, inst in enumerate(layer.instances if layer is not None else []):
                why = inst.outside(self.width, self.height)
                if why:
                    raise ValueError(f"field {layer_name}.instances[{k}] is out of bounds: {why}")
        return self
