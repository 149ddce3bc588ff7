"""Architectures Maskwork can build, as a table: name -> (task, builder(num_classes) -> nn.Module).

Builders never download anything (weights=None, weights_backbone=None); weights are loaded
afterwards by core.models.catalog.weights. The number of classes includes the background.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # listing architectures must not import torch (start-up, `models` command)
    from torch import nn


def _maskrcnn_light(backbone_name: str) -> Callable[[int], nn.Module]:
    def build(num_classes: int) -> nn.Module:
        from torchvision.models.detection import MaskRCNN
        from torchvision.models.detection.backbone_utils import mobilenet_backbone, resnet_fpn_backbone

        if backbone_name.startswith("mobilenet"):
            from torchvision.models.detection.anchor_utils import AnchorGenerator

            backbone = mobilenet_backbone(backbone_name=backbone_name, weights=None, fpn=True, trainable_layers=6)
            # its FPN has 3 levels, not 5: anchors as torchvision's fasterrcnn_mobilenet_v3_large_fpn
            anchors = AnchorGenerator(((32, 64, 128, 256, 512),) * 3, ((0.5, 1.0, 2.0),) * 3)
            return MaskRCNN(backbone, num_classes=num_classes, rpn_anchor_generator=anchors)
        backbone = resnet_fpn_backbone(backbone_name=backbone_name, weights=None, trainable_layers=5)
        return MaskRCNN(backbone, num_classes=num_classes)

    return build


def _tv(name: str, **extra) -> Callable[[int], nn.Module]:
    def build(num_classes: int) -> nn.Module:
        import torchvision.models.detection as det
        import torchvision.models.segmentation as seg

        fn = getattr(det, name, None) or getattr(seg, name)
        kwargs = dict(weights=None, weights_backbone=None, num_classes=num_classes, **extra)
        return fn(**kwargs)

    return build


def _light(name: str) -> Callable[[int], nn.Module]:
    def build(num_classes: int) -> nn.Module:
        from maskwork.core.models.torch_models import light

        return getattr(light, name)(num_classes)

    return build


@dataclass(frozen=True)
class Architecture:
    name: str
    task: str  # "instance" | "semantic"
    build: Callable[[int], nn.Module]
    description: str


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in [
        Architecture("maskrcnn_resnet50_fpn", "instance", _tv("maskrcnn_resnet50_fpn"), "Mask R-CNN ResNet50-FPN (v1)"),
        Architecture("maskrcnn_resnet50_fpn_v2", "instance", _tv("maskrcnn_resnet50_fpn_v2"),
                     "Mask R-CNN ResNet50-FPN v2"),
        Architecture("maskrcnn_resnet18_fpn", "instance", _maskrcnn_light("resnet18"),
                     "Mask R-CNN ResNet18-FPN (light)"),
        Architecture("maskrcnn_mobilenet_v3_large_fpn", "instance", _maskrcnn_light("mobilenet_v3_large"),
                     "Mask R-CNN MobileNetV3-Large-FPN (light)"),
        Architecture("deeplabv3_resnet50", "semantic", _tv("deeplabv3_resnet50", aux_loss=False), "DeepLabV3 ResNet50"),
        Architecture("deeplabv3_mobilenet_v3_large", "semantic", _tv("deeplabv3_mobilenet_v3_large", aux_loss=False),
                     "DeepLabV3 MobileNetV3-Large"),
        Architecture("lraspp_mobilenet_v3_large", "semantic", _tv("lraspp_mobilenet_v3_large"),
                     "LR-ASPP MobileNetV3-Large"),
        Architecture("fcn_resnet50", "semantic", _tv("fcn_resnet50", aux_loss=False), "FCN ResNet50"),
        # light models trained from scratch for the bundled models (core/models/torch_models/light.py)
        Architecture("unet_small", "semantic", _light("unet_small"), "U-Net, 16-256 channels (1.9M params)"),
        Architecture("unet_tiny", "semantic", _light("unet_tiny"), "U-Net, 8-128 channels (0.5M params)"),
        Architecture("maskrcnn_resnet18_lite", "instance", _light("maskrcnn_resnet18_lite"),
                     "Mask R-CNN ResNet18 (layers 1-3), 64-ch FPN, small anchors"),
    ]
}


def get_architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}") from None
