"""Check Maskwork's "efficientsam" layout against EfficientSAM's own model, at full size, on real images.

EfficientSAM is not on PyPI and its weights cannot be fetched here, so the check builds the publisher's model from
its source with seeded random weights, exports it the way labelme exported the files Maskwork downloads
(EfficientSAM's own onnx_models.py wrappers, export_to_onnx.py's settings), runs the ONNX pair through Maskwork's
PromptModel and compares with EfficientSam.predict_masks in PyTorch: one click, clicks with a negative, a box,
a box with a negative click, on a COCO photo and a nuclei image. A pixel may differ only where the reference logit
is within 1e-4 of the threshold 0.

Get the source (Apache-2.0; the weights are not needed):

    git clone --depth 1 https://github.com/yformer/EfficientSAM /tmp/efficientsam-src
    # or labelme's fork github.com/labelmeai/efficient-sam, whose onnx_models.py is the same

then

    MASKWORK_EFFICIENTSAM_SRC=/tmp/efficientsam-src .venv/bin/python tools/verify_efficientsam.py [--size s]
    MASKWORK_EFFICIENTSAM_SRC=/tmp/efficientsam-src .venv/bin/python -m pytest tests/unit/test_efficientsam_layout.py

The unit test does the same with a shallower encoder (depth 2); this script defaults to the real depth 12
(EfficientSAM-Ti: about a minute on two CPU cores). Exit status 1 when anything disagrees.
It also prints how many pixels PyTorch's bicubic upscaling (EfficientSAM's own forward) would change against
the bilinear one of the exported decoder, which Maskwork reproduces: random weights make rough logits, so
that count is far larger than a trained model's.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from maskwork.core.interactive.sam import transforms as T  # noqa: E402
from maskwork.core.interactive.sam.model import PromptModel  # noqa: E402
from maskwork.core.store.images import read_image  # noqa: E402
from tests.unit import efficientsam_fixtures as E  # noqa: E402

IMAGES = ("coco_sample/val2017/000000005001.jpg", "nuclei/images/0121d6759c5adb29.png")
FLIP_BAND = 1e-4


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", help=f"EfficientSAM checkout (default ${E.ENV})")
    ap.add_argument("--size", choices=sorted(E.SIZES), default="ti")
    ap.add_argument("--depth", type=int, default=12, help="ViT encoder depth (12 = the real model)")
    ap.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--keep", help="write the ONNX pair into this folder and keep it")
    args = ap.parse_args()
    if args.src:
        os.environ[E.ENV] = args.src
    src = E.source_dir()
    if src is None:
        print(f"no EfficientSAM source: pass --src or set {E.ENV} to a checkout of "
              "github.com/yformer/EfficientSAM (see this script's docstring).", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    net = E.build(src, args.size, depth=args.depth)
    if args.keep:
        return check(net, src, Path(args.keep), args)
    with tempfile.TemporaryDirectory(prefix="efficientsam-") as folder:
        return check(net, src, Path(folder), args)


def check(net, src: Path, folder: Path, args) -> int:
    model = PromptModel(*E.export(src, net, folder), "efficientsam", f"efficientsam-{args.size}")
    print(f"EfficientSAM-{args.size.upper()} (encoder depth {args.depth}, random weights) exported to {folder}")
    bad = 0
    for name in IMAGES:
        image = read_image(Path(args.datasets) / name)
        h, w = image.shape[:2]
        ref_emb, emb = E.embed(net, image), model.encode(image)
        diff = np.abs(emb.features["image_embeddings"] - ref_emb.numpy()).max()
        print(f"{name} ({w}x{h}): embedding max |diff| {diff:.1e}")
        for prompt in E.prompts(w, h):
            points, labels = E.rows(prompt)
            ref, iou = E.predict(net, ref_emb, points, labels, h, w)
            bicubic, _ = E.predict(net, ref_emb, points, labels, h, w, mode="bicubic")
            result = model.decode(emb, prompt)
            ours = np.stack([m.to_full() for m in result.masks])
            flips = ours != (ref > 0)
            near = float(np.abs(ref[flips]).max()) if flips.any() else 0.0
            logits = np.stack([T.image_logits(lr, emb.frame, model.layout) for lr in result.low_res])
            ok = near < FLIP_BAND and result.best == int(np.argmax(iou)) and \
                np.abs(result.scores - iou).max() < 1e-4 and np.abs(logits - ref).max() < 1e-4
            bad += not ok
            print(f"  {len(labels)} rows ({'box' if prompt.box else 'clicks'}): {flips.sum()} pixels differ "
                  f"(largest |reference logit| there {near:.1e}), logits max |diff| {np.abs(logits - ref).max():.1e}, "
                  f"IoU max |diff| {np.abs(result.scores - iou).max():.1e}, best {result.best}/{int(np.argmax(iou))}, "
                  f"object {(ref > 0).mean():.1%}; bicubic would change {((bicubic > 0) != (ref > 0)).mean():.2%}"
                  f"{'' if ok else '  <-- DISAGREES'}")
    print("agrees" if not bad else f"{bad} prompts disagree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
