"""Light architectures trained from scratch on CPU for Maskwork's bundled models.

- `UNetSmall`: a plain conv/BN/ReLU U-Net (quantizes cleanly, keeps the fine detail nuclei need).
  Returns {"out": logits} like torchvision's segmentation models, so the same predictor serves both.
- `maskrcnn_resnet18_lite`: Mask R-CNN with ResNet18 layers 1-3 (stride 4-16) whose BatchNorm trains
  (the stock builders freeze BN, which only works with pretrained weights), a 64-channel FPN, a 256-wide
  box head and a 2-conv mask head, with anchors 8-64 px for small objects (nuclei). About 4M parameters.
"""
from __future__ import annotations

import torch
from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class UNetSmall(nn.Module):
    """U-Net, 4 poolings (input sides should be multiples of 16; others are padded)."""

    def __init__(self, num_classes: int, base: int = 16):
        super().__init__()
        widths = [base * 2 ** i for i in range(5)]
        self.down = nn.ModuleList([_block(3, widths[0])] + [_block(widths[i], widths[i + 1]) for i in range(4)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(4)])
        self.merge = nn.ModuleList([_block(widths[i] * 2, widths[i]) for i in range(4)])
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h, w = x.shape[-2:]
        ph, pw = (-h) % 16, (-w) % 16
        if ph or pw:
            x = nn.functional.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "constant")
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for i in reversed(range(4)):
            x = self.merge[i](torch.cat([self.up[i](x), skips[i]], dim=1))
        return {"out": self.head(x)[..., :h, :w]}


def unet_small(num_classes: int) -> nn.Module:
    return UNetSmall(num_classes, base=16)


def unet_tiny(num_classes: int) -> nn.Module:
    """A quarter of unet_small's compute: what a CPU can train from scratch in an hour."""
    return UNetSmall(num_classes, base=8)


def maskrcnn_resnet18_lite(num_classes: int) -> nn.Module:
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
    from torchvision.ops import MultiScaleRoIAlign

    fpn = 64
    # layer4 (512 channels, 8.4M of ResNet18's 11.2M weights) is left out: returning layers 1-3 only
    # stops the backbone at stride 16, which is deep enough for small objects and keeps the file small.
    backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None, trainable_layers=5,
                                   norm_layer=nn.BatchNorm2d, returned_layers=[1, 2, 3])
    # resnet_fpn_backbone has no out_channels argument: rebuild its FPN at 64 channels.
    from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelMaxPool
    backbone.fpn = FeaturePyramidNetwork([64, 128, 256], fpn, extra_blocks=LastLevelMaxPool())
    backbone.out_channels = fpn
    anchors = AnchorGenerator(sizes=((8,), (16,), (32,), (64,)), aspect_ratios=((0.5, 1.0, 2.0),) * 4)
    box_pool = MultiScaleRoIAlign(["0", "1", "2"], 7, 2)
    mask_pool = MultiScaleRoIAlign(["0", "1", "2"], 14, 2)
    return MaskRCNN(
        backbone, num_classes=None, min_size=512, max_size=1024,
        rpn_anchor_generator=anchors, box_roi_pool=box_pool, mask_roi_pool=mask_pool,
        box_head=TwoMLPHead(fpn * 7 * 7, 256), box_predictor=FastRCNNPredictor(256, num_classes),
        mask_head=MaskRCNNHeads(fpn, (128, 128), 1), mask_predictor=MaskRCNNPredictor(128, 128, num_classes),
        box_detections_per_img=300, rpn_pre_nms_top_n_train=1000, rpn_post_nms_top_n_train=1000,
        rpn_pre_nms_top_n_test=1000, rpn_post_nms_top_n_test=1000, box_batch_size_per_image=256,
    )
