"""Inference timings: `python -m bench.bench_predict [--quick]` (publishes a section of docs/BENCHMARKS.md).

- latency of every registry model at its real input policy on a real image of its domain, through
  Predictor.predict (preprocessing, forward, paste/resize back to the original size);
- memory of an instance result on a 12-megapixel image (cropped masks vs the full-size float masks
  torchvision's own postprocess would allocate);
- a batch of images: predict_batch (decoding overlapped with the model) vs read-then-predict in turn.
Weights are random (none can be downloaded here): timings do not depend on weight values, except that
detectors are biased to fire so the mask head runs on ~100 objects, the costly case of a crowded scene.
"""
from __future__ import annotations

import sys
import time

import numpy as np
import torch

from bench.common import DATASETS, Row, machine, machine_line, ms_text, table, time_it, under_load_note, update_section
from maskwork.core.models.batch import predict_batch
from maskwork.core.models.catalog.registry import MODELS, get_model
from maskwork.core.models.catalog.weights import build_model
from maskwork.core.models.predict import Predictor
from maskwork.core.store.images import read_image

DOMAIN = {"maskrcnn_resnet50_fpn": "coco", "maskrcnn_resnet50_fpn_v2": "coco", "nuclei-instance": "nuclei",
          "nuclei-semantic": "nuclei", "aerial-landcover": "aerial"}
FOLDERS = {"coco": "coco_sample/val2017", "nuclei": "nuclei/images", "aerial": "aerial/images"}


def _files(kind: str) -> list:
    folder = DATASETS / FOLDERS[kind]
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def _predictor(name: str) -> Predictor:
    spec = get_model(name)
    model = build_model(spec).eval()
    sd = model.state_dict()
    if "roi_heads.box_predictor.cls_score.bias" in sd:
        with torch.no_grad():
            model.roi_heads.box_predictor.cls_score.bias[1] += 6.0
    return Predictor(spec, model=model)


def latency_rows(names: list[str], runs: int) -> list[Row]:
    rows = []
    for name in names:
        p = _predictor(name)
        files = _files(DOMAIN.get(name, "coco" if p.task == "instance" else "aerial"))
        image = read_image(files[len(files) // 2])
        t = time_it(lambda: p.predict(image), runs=runs, warmup=1)
        extra = f"{len(p.predict(image))} objects" if p.task == "instance" else ""
        rows.append(Row(f"{name} on {image.shape[1]}x{image.shape[0]} ({p.spec.input.describe()})", ms_text(t),
                        note=extra))
    return rows


def memory_row() -> Row:
    p = _predictor("nuclei-instance")
    tile = read_image(_files("nuclei")[0])
    image = np.tile(tile, (-(-3000 // tile.shape[0]), -(-4000 // tile.shape[1]), 1))[:3000, :4000]
    result = p.predict(image)
    crop_mb = sum(m.crop.nbytes for m in result.masks) / 1e6
    full_mb = len(result) * 3000 * 4000 * 4 / 1e6
    return Row(f"instance masks on 4000x3000, {len(result)} objects", f"{crop_mb:.1f} MB",
               "<< full-size float masks", crop_mb < full_mb / 100,
               f"torchvision's postprocess would hold {full_mb:,.0f} MB")


def batch_rows(n: int) -> list[Row]:
    p = _predictor("aerial-landcover")
    files = _files("aerial")[:n]

    def sequential():
        for f in files:
            p.predict(read_image(f))

    def overlapped():
        for _ in predict_batch(p, files):
            pass

    t_seq = time_it(sequential, runs=1, warmup=1)
    t_ovl = time_it(overlapped, runs=1, warmup=0)
    return [Row(f"{n} aerial images, read then predict in turn", ms_text(t_seq, p95=False)),
            Row(f"{n} aerial images, predict_batch (decode overlapped)", ms_text(t_ovl, p95=False),
                "faster than in turn", t_ovl.median < t_seq.median)]


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    info = machine()
    names = [n for n in MODELS if not quick or "resnet50" not in n]
    start = time.perf_counter()
    rows = latency_rows(names, runs=1 if quick else 3) + [memory_row()] + batch_rows(4 if quick else 8)
    print(table(rows))
    body = "\n\n".join([
        machine_line(info), under_load_note(info["load"], info["cores"]), table(rows),
        f"Threads: {torch.get_num_threads()}. Random weights (detectors biased to fire). "
        f"Run: `python -m bench.bench_predict` ({time.perf_counter() - start:.0f} s). Policies: docs/MODELS.md."])
    update_section("Inference", body)


if __name__ == "__main__":
    main(sys.argv[1:])
