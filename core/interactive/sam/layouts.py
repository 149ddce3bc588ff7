"""How each family of promptable-model ONNX files wants its inputs: a table of declarations.

A layout says how an image becomes the encoder's input (frame, pixel scale, mean/std), which
encoder outputs exist (matched by shape, so output order does not matter), which decoder inputs
carry what (each role accepts the names the ecosystem's exporters use), and how low-resolution
mask logits come back to the image. Facts come from the publishers' and servers' sources:
segment-anything's SamOnnxModel and ResizeLongestSide, labelme/osam, samexporter (X-AnyLabeling),
yformer/EfficientSAM's onnx_models.py, ryouchinsa/sam-cpp-macos (osam's SAM 2.1 files), Meta's sam2;
see docs/MODELS.md "Promptable models" for what was checked how.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from maskwork.core.domain.errors import ModelError

IMAGENET_MEAN_255 = (123.675, 116.28, 103.53)
IMAGENET_STD_255 = (58.395, 57.12, 57.375)
IMAGENET_MEAN_1 = (0.485, 0.456, 0.406)
IMAGENET_STD_1 = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Feature:
    role: str        # key the decoder role of the same name reads
    channels: int
    size: int        # square spatial size


@dataclass(frozen=True)
class Layout:
    name: str
    text: str
    frame: str                         # "longest_side": keep aspect, pad bottom-right | "square": stretch
    pixel_scale: float                 # pixels are divided by this before mean/std (1 or 255)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    features: tuple[Feature, ...]
    decoder: dict[str, tuple[str, ...]]            # role -> accepted input names (first found wins)
    optional: frozenset[str] = frozenset()         # roles a decoder may lack
    points_rank: int = 3                           # 3: [1, N, 2]; 4: [1, 1, N, 2] (EfficientSAM)
    pad_point: bool = False                        # append (0, 0) labelled -1 when there is no box
    box_first: bool = False                        # box corners before the clicks (SAM 2's order)
    upscale: str = "crop"                          # "crop": to side, cut the padding, to image | "direct"
    encoder_normalises: bool = False               # the encoder takes [0..1] pixels and normalises itself
    hwc_encoder_ok: bool = False                   # a rank-3 [H, W, 3] raw-pixel encoder is this layout too
    resample: str = "pil"                          # "pil": Pillow bilinear on 8-bit pixels (ResizeLongestSide)
                                                   # "float": bilinear on float pixels, no antialiasing (F.interpolate)
                                                   # "pil_float": Pillow's antialiased bilinear on float pixels
                                                   # (torchvision's Resize on a float tensor)
    max_points: int = 0                            # the decoder keeps only this many rows (0: no limit)
    side: int = 1024
    single_is_token0: bool = True                  # with 4 outputs, output 0 is the single-mask token
    single_by_stability: bool = False              # SAM 2: the single mask is token 0 only where it is stable
    orig_size_scales_points: bool = True           # orig_im_size scales the clicks (else: only the output size)
    checked: str = ""                              # how Maskwork verified it (shown in docs, listings)
    roles_fed_as: dict[str, str] = field(default_factory=dict)   # role -> numpy dtype name


SAM_DECODER: dict[str, tuple[str, ...]] = {
    "image_embeddings": ("image_embeddings",),
    "point_coords": ("point_coords",),
    "point_labels": ("point_labels",),
    "mask_input": ("mask_input",),
    "has_mask_input": ("has_mask_input",),
    "orig_im_size": ("orig_im_size",),
}

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in [
    Layout(
        "sam", "segment-anything ONNX (SAM ViT-B/L/H, MobileSAM): encoder [1,3,1024,1024] normalised and padded, "
        "or [H,W,3] raw pixels (samexporter); decoder = segment-anything's SamOnnxModel",
        frame="longest_side", pixel_scale=1.0, mean=IMAGENET_MEAN_255, std=IMAGENET_STD_255,
        features=(Feature("image_embeddings", 256, 64),), decoder=SAM_DECODER,
        pad_point=True, hwc_encoder_ok=True, orig_size_scales_points=False,
        checked="pixel agreement with segment_anything.SamPredictor (random weights, real images; "
                "tests/unit/test_sam.py)",
        roles_fed_as={"orig_im_size": "float32"}),
    Layout(
        "efficientsam", "EfficientSAM ONNX as exported by labelme (served by osam): encoder takes [1,3,H,W] pixels "
        "in 0..1, stretches them to 1024x1024 (bilinear) and normalises itself; decoder takes [1,1,N,2] clicks in "
        "orig_im_size's frame, at most 6 rows, and always gives 3 candidates",
        frame="square", pixel_scale=255.0, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0),
        features=(Feature("image_embeddings", 256, 64),),
        decoder={"image_embeddings": ("image_embeddings",), "point_coords": ("batched_point_coords",),
                 "point_labels": ("batched_point_labels",), "orig_im_size": ("orig_im_size",)},
        points_rank=4, upscale="direct", encoder_normalises=True, single_is_token0=False,
        resample="float", max_points=6,   # the encoder's own F.interpolate; decoder_max_num_input_points
        checked="pixel agreement with yformer/EfficientSAM's own model (random weights, real images, exported with "
                "its onnx_models.py as labelme does; tests/unit/test_efficientsam_layout.py, "
                "tools/verify_efficientsam.py)",
        roles_fed_as={"orig_im_size": "int64"}),
    Layout(
        "sam2", "SAM 2.1 ONNX as osam serves it (ryouchinsa's export) or samexporter exports it: encoder "
        "[1,3,1024,1024] stretched, ImageNet-normalised, three outputs; decoder also takes the two high-resolution "
        "maps, clicks in the 1024 frame, adds SAM 2's padding point itself; osam's gives all four tokens, "
        "samexporter's the three multimask ones",
        frame="square", pixel_scale=255.0, mean=IMAGENET_MEAN_1, std=IMAGENET_STD_1,
        features=(Feature("image_embeddings", 256, 64), Feature("high_res_0", 32, 256),
                  Feature("high_res_1", 64, 128)),
        decoder={"image_embeddings": ("image_embeddings", "image_embed"),
                 "high_res_0": ("high_res_features1", "high_res_feats_0"),
                 "high_res_1": ("high_res_features2", "high_res_feats_1"),
                 "point_coords": ("point_coords",), "point_labels": ("point_labels",),
                 "mask_input": ("mask_input",), "has_mask_input": ("has_mask_input",),
                 "orig_im_size": ("orig_im_size",)},
        optional=frozenset({"orig_im_size"}), box_first=True, upscale="direct",
        resample="pil_float", single_by_stability=True,
        orig_size_scales_points=False,   # osam's orig_im_size only sizes its full-size output: fed 1x1
        checked="pixel agreement with sam2.SAM2ImagePredictor (sam2 1.1.0, random weights, real images; "
                "osam's and samexporter's ONNX forms; tests/unit/test_sam2_layout.py)",
        roles_fed_as={"orig_im_size": "int64"}),
]}


def get_layout(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ModelError(f"unknown promptable-model layout {name!r}; this Maskwork knows "
                         f"{', '.join(LAYOUTS)}.") from None
