"""The annotation model shared by the GUI, models, metrics, I/O and training.

An ImageAnnotation holds two layers: `corrected` (the user's work, sacred) and `prediction` (the
last model output, kept apart so both can be compared). A layer has a semantic label map and/or a
list of instances. Nothing here knows about files (see core.store.project, core.formats) or Qt.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable

import numpy as np

from maskwork.core.domain.masks import Mask

# Distinct, readable colours for classes without one (tab20-like), as "#RRGGBB".
DEFAULT_COLORS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
    "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
]

UNLABELED = 0  # label-map value of "no class" / background in semantic maps
# Class 0 with one of these names means "not labeled" (VOC void): left out of IoU and of the loss.
# Any other name for class 0 (e.g. "background") makes it a real class that is scored and learned.
IGNORE_NAMES = ("unlabeled", "unlabelled", "ignore", "void")
# Most classes an input may declare (COCO categories, YOLO names, classes.json, mask values): LVIS has 1,203;
# beyond this a class list is a damaged or hostile file, and every panel and loss would be sized by it.
MAX_CLASSES = 10_000
# Most objects one image may bring in from a label file (a YOLO .txt, a labelme file, a COCO image): dense
# datasets have hundreds to a few thousand; a million lines is a damaged file that would cost gigabytes.
MAX_OBJECTS_PER_IMAGE = 20_000
MAX_CLASS_ID = 65535  # a label map is uint16 at most: a larger id could be saved but never painted or read back


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16))


def rgb_to_hex(rgb: Iterable[int]) -> str:
    r, g, b = (int(v) for v in rgb)
    return f"#{r:02X}{g:02X}{b:02X}"


@dataclass
class ClassInfo:
    id: int
    name: str
    color: str  # "#RRGGBB"

    @property
    def rgb(self) -> tuple[int, int, int]:
        return hex_to_rgb(self.color)


class ClassList:
    """Ordered classes with unique ids and names. Id 0 is conventionally the background."""

    def __init__(self, classes: Iterable[ClassInfo] = ()):
        self._classes: list[ClassInfo] = []
        self._by_id: dict[int, ClassInfo] = {}  # ids and names indexed: building a list of n classes is O(n)
        self._by_name: dict[str, ClassInfo] = {}
        for c in classes:
            self.add(c.name, c.color, c.id)

    # -- queries --
    def __iter__(self):
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)

    def __contains__(self, class_id: object) -> bool:
        try:
            return class_id in self._by_id
        except TypeError:  # unhashable: never a class id
            return False

    def get(self, class_id: int) -> ClassInfo:
        found = self._by_id.get(class_id)
        if found is not None:
            return found
        raise KeyError(f"class id {class_id} is not in the class list ({self.names()})")

    def by_name(self, name: str) -> ClassInfo:
        found = self._by_name.get(name)
        if found is not None:
            return found
        raise KeyError(f"no class named {name!r} (classes: {self.names()})")

    def ids(self) -> list[int]:
        return [c.id for c in self._classes]

    def names(self) -> list[str]:
        return [c.name for c in self._classes]

    def ignore_id(self) -> int | None:
        """The label value that carries no class (IoU and training skip it), or None."""
        if UNLABELED in self and self.get(UNLABELED).name.strip().lower() in IGNORE_NAMES:
            return UNLABELED
        return None

    def palette(self, size: int = 256) -> np.ndarray:
        """(size, 3) uint8 lookup table: class id -> colour (black where no class)."""
        lut = np.zeros((size, 3), np.uint8)
        for c in self._classes:
            if c.id < size:
                lut[c.id] = c.rgb
        return lut

    # -- edits --
    def add(self, name: str, color: str | None = None, class_id: int | None = None) -> ClassInfo:
        if name in self._by_name:
            raise ValueError(f"a class named {name!r} already exists")
        if class_id is None:
            class_id = max(self._by_id, default=-1) + 1
        if class_id in self:
            raise ValueError(f"class id {class_id} is already used by {self.get(class_id).name!r}")
        if not 0 <= int(class_id) <= MAX_CLASS_ID:
            raise ValueError(f"class id {class_id} is outside 0..{MAX_CLASS_ID}, the ids a label map can hold")
        if color is None:
            color = DEFAULT_COLORS[len(self._classes) % len(DEFAULT_COLORS)]
        info = ClassInfo(int(class_id), str(name), color.upper() if color.startswith("#") else color)
        self._classes.append(info)
        self._by_id[info.id] = self._by_name[info.name] = info
        return info

    def remove(self, class_id: int) -> ClassInfo:
        """Take a class out of the list (undo of an add); the caller checks no annotation uses it."""
        info = self.get(class_id)
        self._classes.remove(info)
        del self._by_id[info.id], self._by_name[info.name]
        return info

    def rename(self, class_id: int, name: str) -> None:
        if name in self._by_name and self._by_name[name].id != class_id:
            raise ValueError(f"a class named {name!r} already exists")
        info = self.get(class_id)
        del self._by_name[info.name]
        info.name = name
        self._by_name[name] = info  # the index follows the new name

    def recolor(self, class_id: int, color: str) -> None:
        hex_to_rgb(color)  # validates
        self.get(class_id).color = color.upper()

    # -- serialisation --
    def to_list(self) -> list[dict]:
        return [{"id": c.id, "name": c.name, "color": c.color} for c in self._classes]

    @staticmethod
    def from_list(items: Iterable[dict]) -> "ClassList":
        return ClassList(ClassInfo(int(d["id"]), str(d["name"]), str(d.get("color") or DEFAULT_COLORS[i % 20]))
                         for i, d in enumerate(items))

    @staticmethod
    def from_names(names: Iterable[str], colors: Iterable[str] | None = None) -> "ClassList":
        names = list(names)
        cols = list(colors) if colors is not None else [DEFAULT_COLORS[i % 20] for i in range(len(names))]
        return ClassList(ClassInfo(i, n, c) for i, (n, c) in enumerate(zip(names, cols)))

    def copy(self) -> "ClassList":
        return ClassList.from_list(self.to_list())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClassList) and self.to_list() == other.to_list()


class Source(str, Enum):
    MODEL = "model"
    PERSON = "person"
    REFINED = "refined"  # a model's mask moved onto the image's edges (core/refine), not yet touched by a person


Box = tuple[float, float, float, float]  # (x, y, w, h) in pixels


def as_box(values) -> Box:
    """Four numbers (a list, an array row, a Mask.bbox) as a Box of floats."""
    x, y, w, h = (float(v) for v in values)
    return (x, y, w, h)


@dataclass
class Instance:
    """One object: its own mask, class, optional box and score, and who made it."""

    id: int
    class_id: int
    mask: Mask
    score: float | None = None
    box: Box | None = None  # None -> mask bbox
    source: Source = Source.PERSON
    iscrowd: bool = False

    @property
    def bbox(self) -> Box:
        return self.box if self.box is not None else as_box(self.mask.bbox)


@dataclass
class Layer:
    """A semantic label map (H x W, uint8/uint16 class ids) and/or instances."""

    label_map: np.ndarray | None = None
    instances: list[Instance] = field(default_factory=list)

    def is_empty(self) -> bool:
        return self.label_map is None and not self.instances

    def instance(self, instance_id: int) -> Instance:
        for inst in self.instances:
            if inst.id == instance_id:
                return inst
        raise KeyError(f"no instance with id {instance_id}")

    def next_instance_id(self) -> int:
        return max((i.id for i in self.instances), default=0) + 1

    def copy(self) -> "Layer":
        return Layer(
            None if self.label_map is None else self.label_map.copy(),
            [copy.copy(i) for i in self.instances],  # masks are immutable: shallow copy is safe
        )


class Status(str, Enum):
    NOT_STARTED = "not started"
    PREDICTED = "predicted"
    CORRECTED = "corrected"


@dataclass
class PredictionInfo:
    """Where a prediction came from (shown in the GUI, kept on disk)."""

    model: str = ""
    int8: bool = False
    latency_ms: float | None = None
    score_threshold: float | None = None
    # hash of (model weights, settings, image file) of the run that wrote it; a rerun of `predict --engine
    # ray` skips the image when it matches (core.cluster.run_key). None: written by anything else.
    run_key: str | None = None


@dataclass
class ImageAnnotation:
    """Everything Maskwork knows about one image."""

    file_name: str  # relative to the project folder, with forward slashes
    width: int
    height: int
    corrected: Layer = field(default_factory=Layer)
    prediction: Layer | None = None
    prediction_info: PredictionInfo | None = None
    status: Status = Status.NOT_STARTED

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    def new_label_map(self, dtype=np.uint8) -> np.ndarray:
        """Create (if needed) and return the corrected label map, all UNLABELED."""
        if self.corrected.label_map is None:
            self.corrected.label_map = np.full((self.height, self.width), UNLABELED, dtype)
        return self.corrected.label_map

    def accept_prediction(self) -> None:
        """Copy the prediction into the corrected layer as the starting point of the user's edits.

        The prediction itself stays untouched so model vs correction can be compared.
        """
        if self.prediction is None:
            raise ValueError(f"{self.file_name}: there is no prediction to accept; run a model first")
        self.corrected = self.prediction.copy()
        for inst in self.corrected.instances:  # a model's object stays "model, refined" when it was refined
            inst.source = Source.REFINED if inst.source == Source.REFINED else Source.MODEL
        self.status = Status.CORRECTED
