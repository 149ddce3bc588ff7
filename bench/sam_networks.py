"""The networks bench_sam times: each promptable family of Maskwork's catalog at its real size, seeded random
weights (no weights can be downloaded here; a network's time does not depend on its weight values), exported to
ONNX in the form of the file the catalog downloads.

- SAM ViT-B / ViT-L: segment_anything's classes at build_sam's sizes; encoder [1,3,1024,1024], decoder
  segment_anything's SamOnnxModel (also the decoder X-AnyLabeling pairs with MobileSAM).
- MobileSAM: the TinyViT of ChaoningZhang/MobileSAM's code (not on PyPI; it imports timm), exported as
  samexporter's encoder with pre-processing, the form X-AnyLabeling serves: [H,W,3] raw pixels of the resized
  image, normalised, put channels-first and padded to 1024x1024 inside the graph. Found through
  $MASKWORK_MOBILESAM_SRC (a checkout), timm through PYTHONPATH.
- EfficientSAM Ti / S: tests/unit/efficientsam_fixtures.py (the publisher's code and its onnx_models.py export,
  labelme's files); found through $MASKWORK_EFFICIENTSAM_SRC.
- SAM 2.1 tiny / small: tests/unit/sam2_fixtures.py (Meta's sam2 package, osam's ONNX form).
`missing(need)` says in one sentence what is absent and how to add it.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import time
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

MOBILESAM_ENV = "MASKWORK_MOBILESAM_SRC"
# ImageEncoderViT arguments (segment_anything.build_sam sizes)
VIT_B = dict(embed_dim=768, depth=12, num_heads=12, global_attn_indexes=(2, 5, 8, 11), window_size=14,
             use_rel_pos=True)
VIT_L = dict(embed_dim=1024, depth=24, num_heads=16, global_attn_indexes=(5, 11, 17, 23), window_size=14,
             use_rel_pos=True)
ONE_BLOCK = dict(embed_dim=192, depth=1, num_heads=3, global_attn_indexes=(), window_size=0, use_rel_pos=False)
IMAGENET_MEAN_255, IMAGENET_STD_255 = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)


@dataclass
class Built:
    encoder: Path
    decoder: Path
    layout: str
    params_m: float       # image-encoder parameters, millions (counted on the built network)
    export_s: float


# ---- what is available ---------------------------------------------------------------------------------
def mobilesam_dir() -> Path | None:
    value = os.environ.get(MOBILESAM_ENV, "")
    path = Path(value) if value else None
    return path if path is not None and (path / "mobile_sam" / "build_sam.py").is_file() else None


def missing(need: str) -> str | None:
    """None when the code a family is built from is here, else what is absent and how to add it."""
    from tests.unit import efficientsam_fixtures as E

    if need == "segment_anything" and importlib.util.find_spec("segment_anything") is None:
        return "segment-anything is not installed (pip install segment-anything==1.0, the test extra)"
    if need == "sam2" and importlib.util.find_spec("sam2") is None:
        return "the sam2 package is not installed (make install: SAM2_BUILD_CUDA=0 pip install --no-build-isolation " \
               "sam2==1.1.0)"
    if need == "efficientsam" and E.source_dir() is None:
        return f"${E.ENV} does not name an EfficientSAM checkout (git clone --depth 1 " \
               f"https://github.com/yformer/EfficientSAM DIR, then {E.ENV}=DIR)"
    if need == "mobilesam":
        if mobilesam_dir() is None:
            return f"${MOBILESAM_ENV} does not name a MobileSAM checkout (git clone --depth 1 " \
                   f"https://github.com/ChaoningZhang/MobileSAM DIR, then {MOBILESAM_ENV}=DIR)"
        if importlib.util.find_spec("timm") is None:
            return "timm, which MobileSAM's TinyViT imports, is not importable (pip install --target DIR timm, " \
                   "then PYTHONPATH=DIR)"
    return None


def _params(module) -> float:
    return sum(p.numel() for p in module.parameters()) / 1e6


def _export(module, args, path: Path, **kwargs) -> None:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=17, **kwargs)


# ---- segment_anything (SAM ViT-B/L, and the "sam" decoder) --------------------------------------------
def _sam(encoder_kwargs: dict):
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    torch.manual_seed(0)
    enc = ImageEncoderViT(img_size=1024, patch_size=16, mlp_ratio=4, qkv_bias=True, out_chans=256,
                          norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), **encoder_kwargs)
    return Sam(image_encoder=enc,
               prompt_encoder=PromptEncoder(embed_dim=256, image_embedding_size=(64, 64),
                                            input_image_size=(1024, 1024), mask_in_chans=16),
               mask_decoder=MaskDecoder(num_multimask_outputs=3, transformer_dim=256, iou_head_depth=3,
                                        iou_head_hidden_dim=256,
                                        transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048,
                                                                      num_heads=8))).eval()


def sam_decoder(work: Path) -> Built:
    """SAM's real prompt encoder + mask decoder (SamOnnxModel, all candidates) beside a one-block encoder,
    made once per work folder: the decoder row's embedding and the decoder every "sam" encoder is opened with."""
    from segment_anything.utils.onnx import SamOnnxModel

    folder = work / "sam-decoder"
    enc, dec = folder / "encoder.onnx", folder / "decoder.onnx"
    if not dec.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        sam = _sam(ONE_BLOCK)
        _export(sam.image_encoder, torch.zeros(1, 3, 1024, 1024), enc, input_names=["x"],
                output_names=["image_embeddings"])
        dummy = {"image_embeddings": torch.randn(1, 256, 64, 64), "point_coords": torch.rand(1, 3, 2) * 1024,
                 "point_labels": torch.ones(1, 3), "mask_input": torch.zeros(1, 1, 256, 256),
                 "has_mask_input": torch.tensor([0.0]), "orig_im_size": torch.tensor([480.0, 640.0])}
        _export(SamOnnxModel(sam, return_single_mask=False), tuple(dummy.values()), dec, input_names=list(dummy),
                output_names=["masks", "iou_predictions", "low_res_masks"],
                dynamic_axes={"point_coords": {1: "n"}, "point_labels": {1: "n"}})
    return Built(enc, dec, "sam", 0.0, 0.0)


def segment_anything_vit(kwargs: dict, work: Path) -> Built:
    start = time.perf_counter()
    enc = _sam(kwargs).image_encoder
    path = work / f"sam-vit-{kwargs['embed_dim']}x{kwargs['depth']}.onnx"
    _export(enc, torch.zeros(1, 3, 1024, 1024), path, input_names=["x"], output_names=["image_embeddings"])
    return Built(path, sam_decoder(work).decoder, "sam", _params(enc), time.perf_counter() - start)


# ---- MobileSAM -----------------------------------------------------------------------------------------
class RawPixels(torch.nn.Module):
    """samexporter's encoder with pre-processing: [H, W, 3] pixels of the image resized to longest side 1024
    -> ImageNet-normalised (0..255 scale), channels first, padded bottom-right to 1024x1024, encoded."""

    def __init__(self, encoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN_255))
        self.register_buffer("std", torch.tensor(IMAGENET_STD_255))

    def forward(self, x):
        x = ((x - self.mean) / self.std).permute(2, 0, 1)
        h, w = x.shape[-2:]
        return self.encoder(torch.nn.functional.pad(x, (0, 1024 - w, 0, 1024 - h))[None])


def mobilesam(work: Path) -> Built:
    src = str(mobilesam_dir())
    if src not in sys.path:
        sys.path.insert(0, src)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # timm's deprecation notes, its registry's overwritten names
        from mobile_sam import build_sam_vit_t

    start = time.perf_counter()
    torch.manual_seed(0)
    enc = build_sam_vit_t().eval().image_encoder
    path = work / "mobilesam_encoder.onnx"
    _export(RawPixels(enc).eval(), torch.randn(1024, 1024, 3), path, do_constant_folding=True,
            input_names=["input_image"], output_names=["image_embeddings"],
            dynamic_axes={"input_image": {0: "image_height", 1: "image_width"}})
    return Built(path, sam_decoder(work).decoder, "sam", _params(enc), time.perf_counter() - start)


# ---- EfficientSAM, SAM 2.1 (the test fixtures' builders and exporters) --------------------------------
def efficientsam(size: str, work: Path, depth: int = 12) -> Built:
    from tests.unit import efficientsam_fixtures as E

    start = time.perf_counter()
    net = E.build(E.source_dir(), size, depth=depth)
    enc, dec = E.export(E.source_dir(), net, work / f"efficientsam-{size}-{depth}")
    return Built(enc, dec, "efficientsam", _params(net.image_encoder), time.perf_counter() - start)


def sam2(config: str, work: Path, shrink: bool = False) -> Built:
    from tests.unit.sam2_fixtures import export_sam2, random_sam2

    start = time.perf_counter()
    net = random_sam2(config, shrink=shrink)
    folder = work / f"sam2-{config}-{'shrunk' if shrink else 'real'}"
    folder.mkdir()
    enc, dec = export_sam2(net, folder, ("osam",))["osam"]
    return Built(enc, dec, "sam2", _params(net.image_encoder), time.perf_counter() - start)


# name -> (what it is, what its build needs, builder(work folder) -> Built)
ENCODERS = {
    "sam-vit-b": ("SAM ViT-B, float32", "segment_anything", partial(segment_anything_vit, VIT_B)),
    "sam-vit-l": ("SAM ViT-L, float32", "segment_anything", partial(segment_anything_vit, VIT_L)),
    "mobilesam": ("MobileSAM TinyViT, [H,W,3] raw-pixel input", "mobilesam", mobilesam),
    "efficientsam-ti": ("EfficientSAM ViT-Ti", "efficientsam", partial(efficientsam, "ti")),
    "efficientsam-s": ("EfficientSAM ViT-S", "efficientsam", partial(efficientsam, "s")),
    "sam2.1-tiny": ("SAM 2.1 Hiera-T", "sam2", partial(sam2, "tiny")),
    "sam2.1-small": ("SAM 2.1 Hiera-S", "sam2", partial(sam2, "small")),
}
# layout -> (the catalog's models that use it, what its build needs, builder of a real decoder beside a cheap
# encoder: a decoder's time does not depend on the encoder that made the embedding)
DECODERS = {
    "sam": ("SAM ViT-B/L/H, MobileSAM", "segment_anything", sam_decoder),
    "efficientsam": ("EfficientSAM Ti/S", "efficientsam", partial(efficientsam, "ti", depth=1)),
    "sam2": ("SAM 2.1 tiny/small", "sam2", partial(sam2, "tiny", shrink=True)),
}
