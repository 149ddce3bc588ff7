"""Timings of the interactive paths on a big image: `python -m bench.bench_editing`.

An 8000 x 6000 label map (real aerial labels, upscaled) and ~300 real nuclei instances: the cost
of one brush segment, a 100-segment stroke, its undo, the live IoU refresh (ConfusionTracker), an
instance stroke and the 300 x 300 instance matching. Interactive targets: well under 50 ms each.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from core import editing as E
from core.annotation import Instance, Layer
from core.masks import Mask
from core.metrics import ConfusionTracker, match_instances

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def _ms(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1000


def _big_map() -> np.ndarray:
    small = np.array(Image.open(DATASETS / "aerial" / "masks" / "tile1_008.png"))
    return cv2.resize(small, (8000, 6000), interpolation=cv2.INTER_NEAREST)


def _nuclei(limit: int = 300) -> list[Mask]:
    data = json.loads((DATASETS / "nuclei" / "val.json").read_text())
    counts: dict = {}
    for a in data["annotations"]:
        counts[a["image_id"]] = counts.get(a["image_id"], 0) + 1
    masks = []
    for image_id in sorted(counts, key=lambda i: -counts[i]):
        masks += [Mask.from_rle(a["segmentation"]) for a in data["annotations"] if a["image_id"] == image_id]
        if len(masks) >= limit:
            break
    # place them on one 8000 x 6000 image, each keeping its shape
    out = []
    for k, m in enumerate(masks[:limit]):
        out.append(Mask(6000, 8000, (k % 20) * 390 + 10, (k // 20) * 390 + 10, m.crop))
    return out


def run() -> dict[str, float]:
    results = {}
    gt = _big_map()
    pred = np.roll(gt, 7, axis=1)
    layer = Layer(gt)
    tracker = ConfusionTracker(gt, pred, 6)

    def segment():
        edit = E.brush_segment(layer, (4000, 3000), (4012, 3006), 30, 3)
        tracker.update(edit)
        if edit is not None:
            edit.undo(layer)
            tracker.update(edit, undone=True)

    results["brush segment + IoU refresh + undo (ms)"] = _ms(segment)

    def stroke():
        group = E.EditGroup("Brush")
        for k in range(100):
            group.add(E.brush_segment(layer, (1000 + 8 * k, 2000 + 3 * k), (1008 + 8 * k, 2003 + 3 * k), 30, 4))
        step = group.finish(layer)
        tracker.update(step)
        step.undo(layer)
        tracker.update(step, undone=True)
        results["100-segment stroke record (KB)"] = step.nbytes / 1024

    results["100-segment stroke + IoU + undo (ms)"] = _ms(stroke, 2)

    masks = _nuclei()
    inst_layer = Layer(instances=[Instance(k + 1, 1, m) for k, m in enumerate(masks)])

    def inst_stroke():
        x, y, w, h = masks[150].bbox
        edit = E.instance_segment(inst_layer, 151, (x, y), (x + w + 20, y + h + 20), 6)
        edit.undo(inst_layer)

    results["instance segment + undo (ms)"] = _ms(inst_stroke)
    shifted = [Mask(m.height, m.width, m.x0 + 2, m.y0 + 1, m.crop) for m in masks]
    results[f"match {len(masks)}x{len(masks)} instances (ms)"] = _ms(lambda: match_instances(masks, shifted), 3)
    return results


def main() -> None:
    for name, value in run().items():
        print(f"{name:45s} {value:10.1f}")


if __name__ == "__main__":
    main()
