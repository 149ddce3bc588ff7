"""The models that come with Maskwork: torchvision's pretrained ones and the bundled checkpoints (MODELS).

Bundled checkpoints describe themselves; core.models.catalog.registry resolves a spec against its file.
"""
from __future__ import annotations

from maskwork.core.domain.annotation import ClassList
from maskwork.core.models.catalog.classlists import aerial_classes, nuclei_classes, torchvision_classes
from maskwork.core.models.catalog.specs import (
    OWN_RCNN,
    OWN_TILE,
    RCNN,
    VOC_RESIZE,
    BundledFile,
    InputPolicy,
    ModelSpec,
    TorchvisionWeights,
)

_COCO = "MaskRCNN_ResNet50_FPN_Weights.COCO_V1"
_VOC = "FCN_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1"


def _tv(name: str, task: str, weights: str, classes_from: str, policy: InputPolicy, text: str, **src) -> ModelSpec:
    return ModelSpec(name, task, name, torchvision_classes(classes_from), policy,
                     TorchvisionWeights(weights, **src), text)


def _bundled(name: str, task: str, arch: str, classes: ClassList, policy: InputPolicy, text: str) -> ModelSpec:
    return ModelSpec(name, task, arch, classes, policy, BundledFile(f"{name}.pt"), text)


def _declarations() -> list[ModelSpec]:
    return [
        _tv("maskrcnn_resnet50_fpn", "instance", _COCO, _COCO, RCNN,
            "COCO 80 things (people, cars, animals...)", frozen_bn_eps=0.0),
        _tv("maskrcnn_resnet50_fpn_v2", "instance", "MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1", _COCO, RCNN,
            "COCO 80 things, improved recipe (more accurate, slower)"),
        _tv("deeplabv3_resnet50", "semantic", "DeepLabV3_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1", _VOC,
            VOC_RESIZE, "20 Pascal VOC classes"),
        _tv("deeplabv3_mobilenet_v3_large", "semantic",
            "DeepLabV3_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1", _VOC, VOC_RESIZE,
            "20 Pascal VOC classes, light"),
        _tv("lraspp_mobilenet_v3_large", "semantic", "LRASPP_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1",
            _VOC, VOC_RESIZE, "20 Pascal VOC classes, fastest"),
        _tv("fcn_resnet50", "semantic", _VOC, _VOC, VOC_RESIZE, "20 Pascal VOC classes"),
        # Maskwork's own models; arch/classes/input are defaults until the checkpoint says otherwise
        _bundled("nuclei-instance", "instance", "maskrcnn_resnet18_lite", nuclei_classes(), OWN_RCNN,
                 "cell nuclei, one object each (microscopy)"),
        _bundled("nuclei-semantic", "semantic", "unet_small", nuclei_classes(), OWN_TILE,
                 "nucleus vs background (microscopy)"),
        _bundled("aerial-landcover", "semantic", "unet_small", aerial_classes(), OWN_TILE,
                 "building, land, road, vegetation, water (drone/aerial)"),
    ]


MODELS: dict[str, ModelSpec] = {s.name: s for s in _declarations()}
