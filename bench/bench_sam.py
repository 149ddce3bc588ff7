"""Promptable models (SAM family): `python -m bench.bench_sam [--quick]` -> docs/BENCHMARKS.md "SAM".

- encoder time per model size, through PromptModel.encode (resize, normalise, pad, onnxruntime) on a
  real photo: SAM's image encoders built from segment_anything's own classes at their real sizes with
  random weights (no weights can be downloaded here; the time does not depend on weight values);
- decoder latency with a cached embedding (the per-click cost): SAM's real prompt encoder + mask
  decoder, through PromptModel.decode (ONNX decoder + upscaling of every candidate to the image).
Needs the test extra segment-anything==1.0 (it builds the networks).
"""
from __future__ import annotations

import sys
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import torch

from bench.common import DATASETS, Row, machine, machine_line, ms_text, table, time_it, under_load_note, update_section
from maskwork.core.images import read_image
from maskwork.core.interactive.prompt import Prompt
from maskwork.core.interactive.sam.model import PromptModel

PHOTO = DATASETS / "coco_sample" / "val2017" / "000000005001.jpg"
NUCLEI = DATASETS / "nuclei" / "images" / "0121d6759c5adb29.png"
# name, what it stands for, ImageEncoderViT arguments (segment_anything.build_sam sizes)
ENCODERS = [
    ("ViT-Ti (global attention)", "EfficientSAM-Ti size, 10M",
     dict(embed_dim=192, depth=12, num_heads=3, global_attn_indexes=(), window_size=0, use_rel_pos=False)),
    ("ViT-B", "SAM ViT-B, 89M",
     dict(embed_dim=768, depth=12, num_heads=12, global_attn_indexes=(2, 5, 8, 11), window_size=14, use_rel_pos=True)),
    ("ViT-L", "SAM ViT-L, 303M",
     dict(embed_dim=1024, depth=24, num_heads=16, global_attn_indexes=(5, 11, 17, 23), window_size=14,
          use_rel_pos=True)),
]
DECODER_GOAL_MS = 50.0


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


def _export(sam, folder: Path, decoder: bool) -> tuple[Path, Path]:
    from segment_anything.utils.onnx import SamOnnxModel

    enc, dec = folder / "encoder.onnx", folder / "decoder.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(sam.image_encoder, torch.zeros(1, 3, 1024, 1024), str(enc), dynamo=False, opset_version=17,
                          input_names=["x"], output_names=["image_embeddings"])
        if decoder:
            dummy = {"image_embeddings": torch.randn(1, 256, 64, 64), "point_coords": torch.rand(1, 3, 2) * 1024,
                     "point_labels": torch.ones(1, 3), "mask_input": torch.zeros(1, 1, 256, 256),
                     "has_mask_input": torch.tensor([0.0]), "orig_im_size": torch.tensor([480.0, 640.0])}
            torch.onnx.export(SamOnnxModel(sam, return_single_mask=False), tuple(dummy.values()), str(dec),
                              dynamo=False, opset_version=17, input_names=list(dummy),
                              output_names=["masks", "iou_predictions", "low_res_masks"],
                              dynamic_axes={"point_coords": {1: "n"}, "point_labels": {1: "n"}})
    return enc, dec


def encoder_rows(names: list[str], runs: int, work: Path, decoder: Path) -> list[Row]:
    image = read_image(PHOTO)
    rows = []
    for name, stands_for, kwargs in ENCODERS:
        if name not in names:
            continue
        folder = work / name.split()[0]
        folder.mkdir()
        start = time.perf_counter()
        enc, _ = _export(_sam(kwargs), folder, decoder=False)
        export_s = time.perf_counter() - start
        model = PromptModel(enc, decoder, "sam", name)
        t = time_it(lambda: model.encode(image), runs=runs, warmup=1)
        rows.append(Row(f"encoder {name} ({stands_for}), {image.shape[1]}x{image.shape[0]} photo",
                        ms_text(t, p95=runs > 2), note=f"ONNX {enc.stat().st_size / 2**20:.0f} MiB, "
                        f"export {export_s:.0f} s"))
        enc.unlink()
    return rows


def decoder_rows(model: PromptModel, runs: int) -> list[Row]:
    rows = []
    for path in (PHOTO, NUCLEI):
        image = read_image(path)
        h, w = image.shape[:2]
        emb = model.encode(image)
        prompts = [Prompt(points=[(w // 2, h // 2, True)]),
                   Prompt(points=[(w // 3, h // 3, True), (w // 2, h // 2, False), (2 * w // 3, h // 2, True)]),
                   Prompt(box=(w // 4, h // 4, 3 * w // 4, 3 * h // 4), points=[(w // 2, h // 2, True)])]
        k = iter(range(10**9))
        t = time_it(lambda: model.decode(emb, prompts[next(k) % len(prompts)]), runs=runs, warmup=3)
        onnx_only = time_it(lambda: model.decoder.run(None, model.decoder_feed(emb, prompts[1])), runs=runs, warmup=3)
        area = np.mean([m.area for m in model.decode(emb, prompts[1]).masks]) / (h * w)
        rows.append(Row(f"decoder per prompt, cached embedding, {w}x{h} ({path.parent.parent.name})",
                        ms_text(t), f"p95 < {DECODER_GOAL_MS:.0f} ms", t.p95 < DECODER_GOAL_MS,
                        f"ONNX decoder alone {ms_text(onnx_only)}; rest: upscaling the shown candidate "
                        f"(random weights: masks cover {100 * area:.0f}% of the image, a worst case)"))
    return rows


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    info = machine()
    start = time.perf_counter()
    names = ["ViT-Ti (global attention)"] + ([] if quick else ["ViT-B", "ViT-L"])
    with tempfile.TemporaryDirectory(prefix="bench_sam_") as tmp:
        work = Path(tmp)
        enc, dec = _export(_sam(ENCODERS[0][2]), work, decoder=True)
        dec_rows = decoder_rows(PromptModel(enc, dec, "sam"), runs=20 if quick else 60)
        enc.unlink()
        rows = encoder_rows(names, runs=1 if quick else 3, work=work, decoder=dec) + dec_rows
    print(table(rows))
    import onnxruntime as ort

    body = "\n\n".join([
        machine_line(info), under_load_note(info["load"], info["cores"]), table(rows),
        f"onnxruntime {ort.__version__}, CPUExecutionProvider, all cores. Random weights, real architecture sizes "
        "built from segment_anything's classes (encoder times do not depend on weight values). MobileSAM's TinyViT "
        "encoder is not in segment_anything and is not measured here. The encoder runs once per image, in a worker, "
        f"and the next image's in the background. Run: `python -m bench.bench_sam` "
        f"({time.perf_counter() - start:.0f} s)."])
    update_section("SAM", body)


if __name__ == "__main__":
    main(sys.argv[1:])
