"""EfficientSAM from its publisher's own code (github.com/yformer/EfficientSAM, Apache-2.0), with seeded random
weights, exported to ONNX with that repository's onnx_models.py wrappers and the settings of its
export_to_onnx.py, which is labelme's export (the files osam serves). EfficientSAM is not on PyPI: point
MASKWORK_EFFICIENTSAM_SRC at a checkout (tools/verify_efficientsam.py says how); nothing here downloads.

The decoder, prompt encoder and neck are EfficientSAM-Ti's real sizes; the ViT encoder keeps Ti's width and
heads and may be made shallower (`depth`), since these checks are about what happens around the network.
The reference is EfficientSam.predict_masks run in PyTorch on the image as EfficientSAM's example feeds it
(0..1, its own size), its 256x256 logits upscaled bilinearly to the image, as the exported decoder does.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from pathlib import Path

import numpy as np

ENV = "MASKWORK_EFFICIENTSAM_SRC"
SIZES = {"ti": (192, 3), "s": (384, 6)}        # build_efficient_sam_vitt / _vits: patch_embed_dim, num_heads


def source_dir() -> Path | None:
    """The EfficientSAM checkout named by MASKWORK_EFFICIENTSAM_SRC, or None."""
    value = os.environ.get(ENV, "")
    path = Path(value) if value else None
    if path is None or not (path / "efficient_sam" / "efficient_sam.py").is_file() or \
            not (path / "onnx_models.py").is_file():
        return None
    return path


def _modules(src: Path):
    if str(src) not in sys.path:
        sys.path.insert(0, str(src))
    from efficient_sam import efficient_sam, efficient_sam_encoder

    spec = importlib.util.spec_from_file_location("efficientsam_onnx_models", src / "onnx_models.py")
    onnx_models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(onnx_models)
    return efficient_sam, efficient_sam_encoder, onnx_models


def build(src: Path, size: str = "ti", depth: int = 12, seed: int = 0):
    """EfficientSAM-Ti/S with random weights from `seed`; `depth` < 12 makes the ViT encoder shallower."""
    import torch

    efficient_sam, encoder_mod, _ = _modules(src)
    dim, heads = SIZES[size]
    torch.manual_seed(seed)
    model = efficient_sam.build_efficient_sam(dim, heads, None)
    if depth != 12:
        model.image_encoder = encoder_mod.ImageEncoderViT(
            img_size=1024, patch_size=16, in_chans=3, patch_embed_dim=dim, normalization_type="layer_norm",
            depth=depth, num_heads=heads, mlp_ratio=4.0, neck_dims=[256, 256], act_layer=torch.nn.GELU)
    # zero at construction (a trained model's is not): make the bicubic resizing of it matter
    torch.nn.init.normal_(model.image_encoder.pos_embed, std=0.5)
    return model.eval()


def export(src: Path, model, folder: Path) -> tuple[Path, Path]:
    """encoder.onnx and decoder.onnx, as EfficientSAM's export_to_onnx.py (labelme's) writes them."""
    import torch

    _, _, onnx_models = _modules(src)
    folder.mkdir(parents=True, exist_ok=True)
    encoder, decoder = folder / "encoder.onnx", folder / "decoder.onnx"
    dummy = {"image_embeddings": torch.randn(1, 256, 64, 64),
             "batched_point_coords": torch.randint(0, 1080, (1, 1, 5, 2)).float(),
             "batched_point_labels": torch.randint(0, 4, (1, 1, 5)).float(),
             "orig_im_size": torch.tensor([1080, 1920], dtype=torch.long)}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(onnx_models.OnnxEfficientSamEncoder(model=model), (torch.randn(1, 3, 1080, 1920),),
                          str(encoder), dynamo=False, opset_version=17, do_constant_folding=True,
                          input_names=["batched_images"], output_names=["image_embeddings"],
                          dynamic_axes={"batched_images": {0: "batch", 2: "height", 3: "width"}})
        torch.onnx.export(onnx_models.OnnxEfficientSamDecoder(model=model), tuple(dummy.values()), str(decoder),
                          dynamo=False, opset_version=17, do_constant_folding=True, input_names=list(dummy),
                          output_names=["output_masks", "iou_predictions"],
                          dynamic_axes={"image_embeddings": {0: "batch"}, "batched_point_coords": {2: "num_points"},
                                        "batched_point_labels": {2: "num_points"}})
    return encoder, decoder


def embed(model, image: np.ndarray):
    """EfficientSam.get_image_embeddings of an 8-bit RGB image fed as its example does (ToTensor: 0..1)."""
    import torch

    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float() / 255
        return model.get_image_embeddings(x)


def prompts(w: int, h: int):
    """One click; clicks with a negative; a box; a box with a negative click (test_sam.py's set)."""
    from maskwork.core.interactive.prompt import Prompt

    return [Prompt(points=[(w // 2, h // 2, True)]),
            Prompt(points=[(w // 3, h // 3, True), (w // 2, h // 2, False), (w - 5, 7, True)]),
            Prompt(box=(w // 4, h // 5, 3 * w // 4, 4 * h // 5)),
            Prompt(box=(w // 4, h // 5, 3 * w // 4, 4 * h // 5), points=[(w // 2, h // 2, False)])]


def rows(prompt) -> tuple[np.ndarray, np.ndarray]:
    """A Maskwork Prompt as EfficientSAM's points and labels: clicks 1/0, box corners 2/3 (image pixels)."""
    pts = [(x, y) for x, y, _ in prompt.points]
    labels = [1.0 if pos else 0.0 for *_, pos in prompt.points]
    if prompt.box is not None:
        pts += [prompt.box[:2], prompt.box[2:]]
        labels += [2.0, 3.0]
    return np.asarray(pts, np.float32), np.asarray(labels, np.float32)


def predict(model, embedding, points: np.ndarray, labels: np.ndarray, height: int, width: int,
            mode: str = "bilinear") -> tuple[np.ndarray, np.ndarray]:
    """Logits of the 3 candidates at the image's size [3, H, W] and their predicted IoU [3]. `mode`
    "bilinear" is what the exported decoder does; EfficientSAM's PyTorch forward uses "bicubic"."""
    import torch

    with torch.no_grad():
        low, iou = model.predict_masks(embedding, torch.from_numpy(points)[None, None],
                                       torch.from_numpy(labels)[None, None], multimask_output=True,
                                       input_h=height, input_w=width, output_h=-1, output_w=-1)
        up = torch.nn.functional.interpolate(low[0], (height, width), mode=mode, align_corners=False)
    return up[0].numpy(), iou[0, 0].numpy()
