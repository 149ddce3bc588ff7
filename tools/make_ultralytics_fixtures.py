"""Regenerate tests/fixtures/ultralytics/: tiny YOLO exports and Ultralytics' own predictions on real images.

Needs the `ultralytics` package, which Maskwork does not depend on (it wants opencv-python, which clashes
with the project's headless OpenCV): run it from a separate virtual environment that sees the project's
packages, for example

    python -m venv /tmp/ul && echo "import site; site.addsitedir('$PWD/.venv/lib/python3.11/site-packages')" \
        > /tmp/ul/lib/python3.11/site-packages/maskwork-venv.pth && /tmp/ul/bin/pip install --no-deps ultralytics
    YOLO_AUTOINSTALL=false YOLO_OFFLINE=true /tmp/ul/bin/python tools/make_ultralytics_fixtures.py

What it writes (tests/unit/test_onnx_ultralytics.py reads it, without ultralytics installed):
- four ONNX files built from Ultralytics' own model YAMLs at a tiny width (no download, random weights from
  a fixed seed, tamed so that boxes, masks and scores look like a trained model's): a YOLO11 segmentation
  model exported with a dynamic input size, the same weights exported at a fixed non-square 256x320 input,
  a YOLO11 detection (boxes only) model, and a YOLO26 segmentation model exported NMS-free (end2end);
- `<model>.json`: what Ultralytics' `YOLO(file).predict(..., retina_masks=True)` returns on three coco_sample
  images for each segmentation file, and for the seed's yolo11n-seg-quantized.onnx when --seed-model points at it
  (the seed model itself is never copied here): classes, scores, boxes (xyxy, image pixels) and masks at
  the image's resolution as COCO RLE (pycocotools). Images are decoded by Maskwork's read_image and handed
  to Ultralytics as BGR arrays, so both sides see the same pixels.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "ultralytics"
COCO = ROOT.parent / "shared" / "datasets" / "coco_sample"
SEED = ROOT.parent / "shared" / "models" / "yolo11n-seg-quantized.onnx"
# The seed's images: the most people (small ones among them), both orientations, 4:3 and 3:2 aspects
# (letterbox padding on either side). The tiny models get the first three coco_sample images (portraits
# first, then by name) on which their random weights find TINY_OBJECTS objects: on some others they find
# none, on some hundreds.
SEED_IMAGES = ("val2017/000000184324.jpg", "val2017/000000166918.jpg", "val2017/000000577539.jpg")
TINY_OBJECTS = range(10, 61)
SCALE = [0.25, 0.0625, 256]  # depth, width, max channels: ~0.27 M parameters, ~1.1 MB per float file
CONF, IOU = 0.25, 0.7  # Ultralytics' predict defaults
TARGET_BOXES = 40  # anchors per image above CONF before NMS, after the class-bias shift (median image)
FIXED = (256, 320)  # (h, w) of the non-square fixed export


def _build(yaml_name: str, seed: int = 0):
    """YOLO from Ultralytics' own YAML (yolo11-seg.yaml: models/11/...) at SCALE with random weights (fixed
    seed), nothing downloaded."""
    import tempfile

    import torch
    import ultralytics
    import yaml
    from ultralytics import YOLO

    family = "26" if yaml_name.startswith("yolo26") else "11"
    cfg = yaml.safe_load((Path(ultralytics.__file__).parent / "cfg" / "models" / family / yaml_name).read_text())
    cfg["scales"] = {"t": SCALE}
    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / yaml_name
        path.write_text(yaml.safe_dump(cfg))
        return YOLO(str(path), task="segment" if "seg" in yaml_name else "detect")


def _tensor(rgb: np.ndarray):
    import torch
    from ultralytics.data.augment import LetterBox

    x = LetterBox(320, auto=True, stride=32)(image=rgb)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].float() / 255


def _tame(model, images: list[np.ndarray]) -> float:
    """Make the random network's outputs look like a trained one's as far as decoding goes; returns the
    class-bias shift.

    With random weights the activations blow up: every box spans the image, every mask fills its box and
    the scores saturate, which would test nothing. So BatchNorm statistics are measured on the images
    (cumulative average), and the head's last convolutions (both branches of an NMS-free head) are rescaled
    to unit-spread outputs: box distances of a few strides, mask coefficients centred, class logits shifted
    by one amount so that about TARGET_BOXES anchors per image score above CONF."""
    import torch

    net = model.model
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    net.train()
    with torch.no_grad():
        for rgb in images:
            net(_tensor(rgb))
    net.eval()
    head = net.model[-1]
    finals = {kind: [q[-1] for name in (attr, "one2one_" + attr) for q in (getattr(head, name, None) or [])]
              for kind, attr in (("box", "cv2"), ("cls", "cv3"), ("mask", "cv4"))}

    def outputs(convs) -> list[list[torch.Tensor]]:
        """Per image, each conv's output (channels, positions)."""
        got = []
        hooks = [c.register_forward_hook(lambda _m, _i, o: got.append(o.detach()[0].flatten(1))) for c in convs]
        per_image = []
        with torch.no_grad():
            for rgb in images:
                got.clear()
                net(_tensor(rgb))
                per_image.append(list(got))
        for h in hooks:
            h.remove()
        return per_image

    for kind in ("box", "mask", "cls"):
        for conv in finals[kind]:
            o = torch.cat([outs[0] for outs in outputs([conv])], 1)
            mean, scale = o.mean(1), 1.0 / float(o.std())
            want = torch.zeros_like(mean)
            if kind == "box" and head.reg_max > 1:  # DFL channels are side * reg_max + bin: favour the short bins
                want = -0.4 * (torch.arange(len(mean)) % head.reg_max).float()
            elif kind == "box":  # plain distances (YOLO26): 1.5 +- 0.5 strides
                want, scale = torch.full_like(mean, 1.5), scale * 0.5
            conv.weight.data *= scale
            conv.bias.data = (conv.bias.data - mean) * scale + want
    head_cls = [getattr(head, "one2one_cv3", None) or head.cv3][0]  # the branch the export runs
    best = []
    for outs in outputs([q[-1] for q in head_cls]):
        logits = torch.cat(outs, 1)[: head.nc].amax(0)  # best class logit per anchor
        best.append(torch.sort(logits, descending=True).values[TARGET_BOXES].item())
    shift = math.log(CONF / (1 - CONF)) - float(np.median(best))
    for conv in finals["cls"]:
        conv.bias.data += shift
    return shift


def _export(model, name: str, imgsz, dynamic: bool, **options) -> Path:
    """Ultralytics' own exporter (no onnxslim: it would be installed on the fly), copied into OUT."""
    made = Path(model.export(format="onnx", imgsz=imgsz, dynamic=dynamic, simplify=False, batch=1, **options))
    target = OUT / f"{name}.onnx"
    target.write_bytes(made.read_bytes())
    made.unlink()
    return target


def _predict(path: Path, imgsz, images: dict[str, np.ndarray], wanted: range | None = None) -> dict:
    """Ultralytics' own predictions on `images`, masks at the image's resolution (retina_masks); with `wanted`,
    only the first three images whose object count lies in it."""
    import ultralytics
    from pycocotools import mask as mask_utils
    from ultralytics import YOLO

    yolo = YOLO(str(path), task="segment")
    shots = []
    for rel, rgb in images.items():
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        r = yolo.predict(bgr, imgsz=imgsz, conf=CONF, iou=IOU, retina_masks=True, verbose=False)[0]
        objects = []
        if r.masks is not None:
            for box, cls, score, m in zip(r.boxes.xyxy.tolist(), r.boxes.cls.tolist(), r.boxes.conf.tolist(),
                                          r.masks.data.numpy().astype(np.uint8)):
                rle = mask_utils.encode(np.asfortranarray(m))
                objects.append({"class": int(cls), "name": r.names[int(cls)], "score": round(float(score), 7),
                                "box": [round(v, 3) for v in box],
                                "mask": {"size": rle["size"], "counts": rle["counts"].decode("ascii")}})
        if wanted is None or len(objects) in wanted:
            fed = yolo.predictor.pre_transform([bgr])[0].shape[:2]  # the letterboxed input it ran
            shots.append({"file": rel, "height": rgb.shape[0], "width": rgb.shape[1], "input": list(fed),
                          "objects": objects})
        if len(shots) == 3:
            break
    return {"model": path.name, "ultralytics": ultralytics.__version__, "imgsz": imgsz, "conf": CONF, "iou": IOU,
            "retina_masks": True, "images": shots}


def main() -> None:
    from maskwork.core.store.images import read_image

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed-model", type=Path, default=SEED, help="the seed's YOLO-seg file (skipped if absent)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    every = {f"val2017/{f.name}": read_image(f) for f in sorted((COCO / "val2017").glob("*.jpg"))}
    calibration = list(every.values())
    seg = _build("yolo11-seg.yaml")
    shift = _tame(seg, calibration)
    det = _build("yolo11.yaml")
    _tame(det, calibration)
    made = {"tiny-seg-dynamic": (_export(seg, "tiny-seg-dynamic", 320, True), 320, TINY_OBJECTS),
            "tiny-seg-256x320": (_export(seg, "tiny-seg-256x320", list(FIXED), False), list(FIXED), TINY_OBJECTS)}
    _export(det, "tiny-detect", 320, False)
    seg26 = _build("yolo26-seg.yaml")
    _tame(seg26, calibration)
    made["tiny-seg26-end2end"] = (_export(seg26, "tiny-seg26-end2end", 320, False, end2end=True), 320, TINY_OBJECTS)
    if args.seed_model.is_file():
        made["yolo11n-seg-quantized"] = (args.seed_model, 320, None)
    for name, (path, imgsz, wanted) in made.items():
        order = sorted(every, key=lambda rel: every[rel].shape[0] <= every[rel].shape[1]) if wanted else SEED_IMAGES
        images = {rel: every[rel] for rel in order}
        result = _predict(path, imgsz, images, wanted)
        (OUT / f"{name}.json").write_text(json.dumps(result, separators=(",", ":")) + "\n")
        n = sum(len(s["objects"]) for s in result["images"])
        files = ", ".join(s["file"][-10:-4] for s in result["images"])
        print(f"{name}: {n} objects on {files} ({path.stat().st_size / 1e6:.2f} MB)")
    print(f"class bias shift {shift:+.2f}; files in {OUT}")


if __name__ == "__main__":
    main()
