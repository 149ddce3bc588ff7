"""What a model is, as data: ModelSpec (task, architecture, classes), how images reach it (InputPolicy) and
where its weights come from (TorchvisionWeights, BundledFile, UserCheckpoint, OnnxFile).

No table and no lookup here (core.models.catalog.registry has both), so the user's model list and the weight loader
can use these types without importing the registry that lists them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Union

from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.errors import ModelError
from maskwork.core.models.catalog.meta_checks import checked_policy
from maskwork.core.models.torch_models.architectures import ARCHITECTURES
from maskwork.core.resources import bundled_models_dir

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class InputPolicy:
    """How an image of any size reaches the model (see docs/MODELS.md).

    rcnn:   Mask R-CNN's own transform: shorter side to min_size, longer side at most max_size.
    resize: shorter side to `resize` (torchvision VOC models were trained that way), longer side at most
            `max_size`; the result is resized back.
    tile:   windows of `tile` px with `overlap` px shared by neighbours at the training scale
            (`scale` < 1 shrinks the image first); Maskwork's own semantic models.
    """

    mode: str
    min_size: int = 800
    max_size: int = 1333
    detections_per_img: int = 100
    resize: int = 520
    tile: int = 512
    overlap: int = 64
    scale: float = 1.0
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD

    # checkpoint "input" key -> converter; unknown keys are ignored so newer files still load
    _KEYS = {"min_size": int, "max_size": int, "detections_per_img": int, "resize": int, "tile": int,
             "overlap": int, "scale": float, "mean": tuple, "std": tuple}

    def updated(self, values: dict | None) -> "InputPolicy":
        values = values or {}
        kwargs = checked_policy(values)  # whole sides within bounds, 3 finite means/stds: one sentence if not
        if self.mode != "rcnn":
            if "tile" in values:
                kwargs["mode"] = "tile"
                kwargs.setdefault("overlap", max(0, int(values["tile"]) // 8))
            elif "resize" in values:
                kwargs["mode"] = "resize"
        policy = replace(self, **kwargs)
        if policy.mode == "tile" and not 0 <= policy.overlap < policy.tile:
            raise ModelError(f"input policy: overlap {policy.overlap} must be smaller than the tile {policy.tile}")
        return policy

    def to_dict(self) -> dict:
        keys = {"rcnn": ("min_size", "max_size", "detections_per_img"), "resize": ("resize", "max_size"),
                "tile": ("tile", "overlap", "scale")}[self.mode]
        return {"mode": self.mode, **{k: getattr(self, k) for k in keys}}

    def describe(self) -> str:
        d = self.to_dict()
        return d.pop("mode") + " " + " ".join(f"{k}={v}" for k, v in d.items())


@dataclass(frozen=True)
class TorchvisionWeights:
    """Pretrained weights named by torchvision's enum, kept in torch hub's cache folder."""

    weights: str  # e.g. "MaskRCNN_ResNet50_FPN_Weights.COCO_V1"
    frozen_bn_eps: float | None = None  # torchvision builds its pretrained v1 detector with FrozenBatchNorm2d

    def describe(self) -> str:
        return f"torchvision {self.weights}"


@dataclass(frozen=True)
class BundledFile:
    """A Maskwork checkpoint shipped under resources/models (MASKWORK_MODELS_DIR overrides the folder)."""

    filename: str

    @property
    def path(self) -> Path:
        override = os.environ.get("MASKWORK_MODELS_DIR")
        return (Path(override) if override else bundled_models_dir()) / self.filename

    def describe(self) -> str:
        return f"bundled {self.path}"


@dataclass(frozen=True)
class UserCheckpoint:
    path: str

    def describe(self) -> str:
        return f"user checkpoint {self.path}"


@dataclass(frozen=True)
class OnnxFile:
    """An ONNX file run by onnxruntime; `layout` (core.models.onnx_models.layouts.OnnxLayout) says how."""

    path: str
    layout: object
    int8_path: str | None = None  # the int8 file paired with this float one (core.models.int8.onnx_quant.pair_key)
    int8_layout: object = None

    def describe(self) -> str:
        return f"ONNX file {self.path}" + (f" + int8 file {self.int8_path}" if self.int8_path else "")


WeightsSource = Union[TorchvisionWeights, BundledFile, UserCheckpoint, OnnxFile]


@dataclass(frozen=True, eq=False)
class ModelSpec:
    name: str
    task: str  # "instance" | "semantic"
    arch: str  # key of ARCHITECTURES
    classes: ClassList
    input: InputPolicy
    source: WeightsSource
    description: str = ""
    backend: str = "torch"  # key of core.models.predict.BACKENDS: who runs it ("torch" | "onnx")

    @property
    def num_classes(self) -> int:
        """Outputs of the model's head: class ids index them, background included."""
        return max(self.classes.ids()) + 1

    def with_input(self, **changes) -> "ModelSpec":
        return replace(self, input=replace(self.input, **changes))


RCNN = InputPolicy("rcnn")
VOC_RESIZE = InputPolicy("resize", resize=520, max_size=2048)
OWN_TILE = InputPolicy("tile", tile=512, overlap=64)
OWN_RCNN = InputPolicy("rcnn", min_size=512, max_size=1024, detections_per_img=400)

def spec_with_header(spec: ModelSpec, header: dict) -> ModelSpec:
    """The spec as the checkpoint describes itself (arch, task, classes, input policy)."""
    if not header:
        return spec
    arch = header.get("arch", spec.arch)
    if arch not in ARCHITECTURES:
        raise ModelError(f"model {spec.name!r}: its checkpoint names architecture {arch!r}, which this version "
                         f"of Maskwork does not know ({', '.join(ARCHITECTURES)}). Update Maskwork or retrain.")
    task = header.get("task", ARCHITECTURES[arch].task)
    policy = spec.input if task == spec.task else {"instance": OWN_RCNN, "semantic": OWN_TILE}[task]
    classes = ClassList.from_list(header["classes"]) if header.get("classes") else spec.classes
    return replace(spec, arch=arch, task=task, classes=classes, input=policy.updated(header.get("input")))


def weights_file(spec: ModelSpec) -> Path | None:
    src = spec.source
    if isinstance(src, BundledFile):
        return src.path
    if isinstance(src, (UserCheckpoint, OnnxFile)):
        return Path(src.path)
    return None
