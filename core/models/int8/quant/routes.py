"""Which parts of each architecture become int8, as a table chosen by measurement (docs/adr/0004).

A route lists `Part`s: a submodule path ("" = the whole model) quantized by FX graph mode, the
example inputs used to trace it, and the layers inside it kept in float because int8 is slower
or less accurate there. Everything outside the parts (Mask R-CNN's transform, anchor/NMS/RoIAlign
logic, box/mask predictor logits) stays float, so the int8 module keeps the float model's
forward signature and outputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from torch import nn

# torch is imported inside the functions that trace a model: the model list asks route_for() whether an
# architecture has an int8 route, and that must not cost a torch import at start-up (ADR 0012).

ROUTE_VERSION = 3  # bump when a route changes: it is part of the cache key


def _image(model: nn.Module) -> tuple:
    import torch

    return (torch.zeros(1, 3, 256, 256),)


def _fpn_channels(model: nn.Module) -> int:
    # torch's stub types every Module attribute as Tensor | Module (its __getattr__); torchvision's backbones keep
    # out_channels as a plain int
    return model.backbone.out_channels  # type: ignore[union-attr, return-value]


def _fpn_rois(size: int) -> Callable[[nn.Module], tuple]:
    def example(model: nn.Module) -> tuple:
        import torch

        return (torch.zeros(2, _fpn_channels(model), size, size),)

    return example


def _rpn_level(model: nn.Module) -> tuple:
    import torch

    return (torch.zeros(1, _fpn_channels(model), 32, 32),)


def _first_conv_input(path: str) -> Callable[[nn.Module], tuple]:
    def example(model: nn.Module) -> tuple:
        import torch
        from torch import nn

        conv = next(m for m in model.get_submodule(path).modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))
        return (torch.zeros(1, conv.in_channels, 32, 32),)

    return example


def _blocks(*paths: str) -> tuple[Part, ...]:
    return tuple(Part(p, _first_conv_input(p)) for p in paths)


def dilated_depthwise(module: nn.Module) -> list[str]:
    """Dilated depthwise convolutions: 5-10x slower in int8 than float on x86 (no fast kernel)."""
    from torch import nn

    return [name for name, m in module.named_modules()
            if isinstance(m, nn.Conv2d) and m.groups > 1 and max(m.dilation) > 1]


def nothing(module: nn.Module) -> list[str]:
    return []


@dataclass(frozen=True)
class Part:
    path: str  # submodule quantized as one FX graph; "" is the whole model
    example: Callable[[nn.Module], tuple]  # inputs to trace it (shapes only; values unused)
    keep_float: Callable[[nn.Module], list[str]] = nothing  # module names inside the part


@dataclass(frozen=True)
class Route:
    name: str
    parts: tuple[Part, ...]
    why: str = ""
    calibration_floor: float | None = None  # Mask R-CNN: score threshold while calibrating (heads see RoIs)
    extra: dict = field(default_factory=dict)


SEMANTIC = Route(
    "fx-whole-model",
    (Part("", _image, dilated_depthwise),),
    "whole network int8; dilated depthwise convolutions (MobileNetV3 last stage) stay float",
)

MASK_RCNN = Route(
    "fx-backbone-and-heads",
    (
        Part("backbone", _image),  # ResNet/MobileNet body + FPN, one graph (FrozenBN swapped for fusable BN)
        Part("rpn.head.conv", _rpn_level),  # the 3x3 conv run on every pyramid level
        Part("roi_heads.box_head", _fpn_rois(7)),
        Part("roi_heads.mask_head", _fpn_rois(14)),
    ),
    "backbone+FPN, RPN conv, box head and mask head int8; proposals, NMS, RoIAlign, box predictor and "
    "mask predictor (its int8 transposed conv is wrong in torch) float",
    calibration_floor=0.0,
)

# U-Net: its forward pads to a multiple of 16 depending on the input size, which FX cannot trace;
# each conv block and the head become int8; the glue (pool, pad, concat) and the up-convolutions
# (int8 transposed convs are wrong in torch, see build.py) stay float.
UNET = Route(
    "fx-per-block",
    _blocks(*[f"down.{i}" for i in range(5)], *[f"merge.{i}" for i in range(4)], "head"),
    "every conv block and the 1x1 head int8; padding, pooling, concatenation and the transposed-conv "
    "upsampling float",
)

ROUTES: dict[str, Route] = {
    "maskrcnn_resnet50_fpn": MASK_RCNN,
    "maskrcnn_resnet50_fpn_v2": MASK_RCNN,
    "maskrcnn_resnet18_fpn": MASK_RCNN,
    "maskrcnn_mobilenet_v3_large_fpn": MASK_RCNN,
    "maskrcnn_resnet18_lite": MASK_RCNN,
    "deeplabv3_resnet50": SEMANTIC,
    "deeplabv3_mobilenet_v3_large": SEMANTIC,
    "lraspp_mobilenet_v3_large": SEMANTIC,
    "fcn_resnet50": SEMANTIC,
    "unet_small": UNET,
}


def route_for(arch: str) -> Route | None:
    return ROUTES.get(arch)
