"""A small SAM from segment_anything's own building blocks, with seeded random weights, exported to ONNX
the standard way (torch.onnx.export of the image encoder; segment_anything.utils.onnx.SamOnnxModel for
the decoder). The image encoder is shrunk (depth 2, width 32): the tests that use it check what happens
around the network, the same for any encoder size; prompt encoder and mask decoder are SAM's real sizes.
Test-only dependency: segment-anything==1.0 (pyproject.toml [test])."""
from __future__ import annotations

import warnings
from functools import partial
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("segment_anything", reason="test extra: pip install segment-anything==1.0")


def tiny_sam():
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    torch.manual_seed(0)
    encoder = ImageEncoderViT(depth=2, embed_dim=32, img_size=1024, mlp_ratio=2, num_heads=2, patch_size=16,
                              qkv_bias=True, use_rel_pos=True, global_attn_indexes=(1,), window_size=14,
                              out_chans=256, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6))
    decoder = MaskDecoder(num_multimask_outputs=3, transformer_dim=256, iou_head_depth=3, iou_head_hidden_dim=256,
                          transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8))
    prompt = PromptEncoder(embed_dim=256, image_embedding_size=(64, 64), input_image_size=(1024, 1024),
                           mask_in_chans=16)
    return Sam(image_encoder=encoder, prompt_encoder=prompt, mask_decoder=decoder,
               pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375]).eval()


class _HwcEncoder(torch.nn.Module):
    """samexporter's --use-preprocess form: raw [H, W, 3] pixels in, normalise + pad inside."""

    def __init__(self, sam) -> None:
        super().__init__()
        self.sam = sam

    def forward(self, x):
        x = (x - self.sam.pixel_mean.view(1, 1, 3)) / self.sam.pixel_std.view(1, 1, 3)
        x = x.permute(2, 0, 1)
        x = torch.nn.functional.pad(x, (0, 1024 - x.shape[2], 0, 1024 - x.shape[1]))
        return self.sam.image_encoder(x[None])


ALL = ("encoder", "hwc_encoder", "decoder", "single_decoder")


def export_tiny_sam(sam, folder: Path, which=ALL) -> dict[str, Path]:
    from segment_anything.utils.onnx import SamOnnxModel

    paths = {k: folder / f"{k}.onnx" for k in which}
    dummy = {"image_embeddings": torch.randn(1, 256, 64, 64), "point_coords": torch.rand(1, 5, 2) * 1024,
             "point_labels": torch.randint(0, 4, (1, 5)).float(), "mask_input": torch.randn(1, 1, 256, 256),
             "has_mask_input": torch.tensor([1.0]), "orig_im_size": torch.tensor([1500.0, 2250.0])}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        if "encoder" in paths:
            torch.onnx.export(sam.image_encoder, torch.zeros(1, 3, 1024, 1024), str(paths["encoder"]), dynamo=False,
                              opset_version=17, input_names=["x"], output_names=["image_embeddings"])
        if "hwc_encoder" in paths:
            torch.onnx.export(_HwcEncoder(sam), torch.zeros(600, 1024, 3), str(paths["hwc_encoder"]), dynamo=False,
                              opset_version=17, input_names=["input_image"], output_names=["image_embeddings"],
                              dynamic_axes={"input_image": {0: "h", 1: "w"}})
        for key, single in (("decoder", False), ("single_decoder", True)):
            if key not in paths:
                continue
            torch.onnx.export(SamOnnxModel(sam, return_single_mask=single), tuple(dummy.values()), str(paths[key]),
                              dynamo=False, opset_version=17, input_names=list(dummy),
                              output_names=["masks", "iou_predictions", "low_res_masks"],
                              dynamic_axes={"point_coords": {1: "n"}, "point_labels": {1: "n"}})
    return paths


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory):
    """(encoder.onnx, decoder.onnx) of the small SAM."""
    paths = export_tiny_sam(tiny_sam(), tmp_path_factory.mktemp("tiny_pair"), ("encoder", "decoder"))
    return paths["encoder"], paths["decoder"]


def standard_prompts(w: int, h: int):
    """The prompts every layout check uses: one click, clicks with a negative, a box, box + negative click."""
    from maskwork.core.interactive.prompt import Prompt

    return [Prompt(points=[(w // 2, h // 2, True)]),
            Prompt(points=[(w // 3, h // 3, True), (w // 2, h // 2, False), (w - 5, 7, True)]),
            Prompt(box=(w // 4, h // 5, 3 * w // 4, 4 * h // 5)),
            Prompt(box=(w // 4, h // 5, 3 * w // 4, 4 * h // 5), points=[(w // 2, h // 2, False)])]


def reference_predict(predictor, prompt, multimask: bool, mask_input=None):
    """(logits, scores, low-res logits) of a SamPredictor / SAM2ImagePredictor for a Maskwork Prompt."""
    import numpy as np
    import torch

    coords = np.array([(x, y) for x, y, _ in prompt.points], float) if prompt.points else None
    labels = np.array([int(p) for *_, p in prompt.points]) if prompt.points else None
    box = np.array(prompt.box, float) if prompt.box else None
    with torch.no_grad():
        return predictor.predict(coords, labels, box, mask_input, multimask_output=multimask, return_logits=True)
