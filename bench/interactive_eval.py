"""The evaluation protocol of bench_interactive.py: real objects, simulated clicks, NoC and mean IoU.

Objects: a seeded sample of nuclei val objects and every non-crowd coco_sample val object above
1000 px. Each object is segmented from its tight box (for tools that take one) and then up to
20 clicks of core.interactive.clicks; a run stops after 5 clicks once IoU >= 0.90 (everything the
tables show is then known exactly). Objects are spread over worker processes, grouped by image.
"""
from __future__ import annotations

import json
import math
import os
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import cv2
import numpy as np

from bench.common import DATASETS
from maskwork.core.domain.masks import Mask
from maskwork.core.interactive.clicks import noc, simulate

MAX_CLICKS = 20
REPORT_CLICKS = (1, 3, 5)


@dataclass
class Obj:
    dataset: str        # "nuclei" | "coco"
    image: str          # path of the image file
    mask: Mask
    category: str


def nuclei_objects(n: int = 100, seed: int = 0) -> list[Obj]:
    """n nuclei drawn at random (seeded) from nuclei val, all sizes."""
    doc = json.loads((DATASETS / "nuclei" / "val.json").read_text())
    files = {im["id"]: im["file_name"] for im in doc["images"]}
    anns = sorted(doc["annotations"], key=lambda a: a["id"])
    picked = random.Random(seed).sample(anns, n)
    return [Obj("nuclei", str(DATASETS / "nuclei" / "images" / files[a["image_id"]]),
                Mask.from_rle(a["segmentation"]), "nucleus") for a in picked]


def coco_objects(min_area: int = 1000) -> list[Obj]:
    """Every non-crowd coco_sample val object whose mask covers more than min_area pixels."""
    from maskwork.core.formats.coco import load_coco

    ds = load_coco(DATASETS / "coco_sample" / "instances_val2017.json")
    names = {c.id: c.name for c in ds.classes}
    out = []
    for ann in ds.annotations:
        for inst in ann.corrected.instances:
            if not inst.iscrowd and inst.mask.area > min_area:
                out.append(Obj("coco", str(DATASETS / "coco_sample" / "val2017" / ann.file_name), inst.mask,
                               names.get(inst.class_id, "?")))
    return out


@lru_cache(maxsize=4)
def _image(path: str) -> np.ndarray:
    from maskwork.core.store.images import read_image

    return read_image(path)


def _one(job: tuple[Callable, Obj, bool]) -> list[float]:
    run, obj, use_box = job
    image = _image(obj.image)
    return simulate(lambda prompt: run(image, prompt), obj.mask, use_box, MAX_CLICKS, stop_at=0.90,
                    min_clicks=max(REPORT_CLICKS))


def evaluate(run: Callable, objects: list[Obj], use_box: bool, processes: int | None = None) -> list[list[float]]:
    """IoU curves (index 0 = box alone) of `run(image, prompt) -> Mask` on each object, in order."""
    jobs = [(run, o, use_box) for o in objects]
    processes = processes or int(os.environ.get("BENCH_PROCESSES", "2"))
    if processes <= 1:
        return [_one(j) for j in jobs]
    with ProcessPoolExecutor(processes) as pool:  # chunks keep one image's objects in one worker
        return list(pool.map(_one, jobs, chunksize=max(1, len(jobs) // (4 * processes))))


@dataclass
class Summary:
    n: int
    box: float          # mean IoU of the box alone (nan when the tool takes no box)
    after: dict         # clicks -> mean IoU
    noc85: float
    noc90: float
    fail90: float       # share of objects not at 0.90 after MAX_CLICKS


def summarize(curves: list[list[float]]) -> Summary:
    box = [c[0] for c in curves if not math.isnan(c[0])]
    after = {k: float(np.mean([c[k] if k < len(c) else c[-1] for c in curves])) for k in REPORT_CLICKS}
    return Summary(len(curves), float(np.mean(box)) if box else math.nan, after,
                   float(np.mean([noc(c, 0.85, MAX_CLICKS) for c in curves])),
                   float(np.mean([noc(c, 0.90, MAX_CLICKS) for c in curves])),
                   float(np.mean([np.nanmax(c) < 0.90 for c in curves])))


# ---- manual baseline: polygon vertices --------------------------------------------------------
def polygon_vertices(truth: Mask, target: float = 0.90) -> int | None:
    """Fewest Douglas-Peucker vertices (summed over the object's outer contours) whose filled polygon
    reaches IoU >= target with the true mask; None when even the exact outline does not (holes)."""
    crop = np.pad(truth.crop.astype(np.uint8), 1)
    contours, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contours = sorted(contours, key=cv2.contourArea, reverse=True)

    def score(eps: float, keep: int) -> tuple[float, int]:
        polys = [cv2.approxPolyDP(c, eps, True) for c in contours[:keep]]
        canvas = np.zeros_like(crop)
        cv2.fillPoly(canvas, polys, 1)
        inter = float(np.count_nonzero(canvas & crop))
        union = float(np.count_nonzero(canvas | crop))
        return inter / union if union else 0.0, sum(len(p) for p in polys)

    best = None
    for keep in range(1, min(len(contours), 8) + 1):  # leaving small parts out may be cheaper
        if score(0.0, keep)[0] < target:
            continue
        lo, hi = 0.0, max(crop.shape) / 2.0  # largest epsilon that still reaches the target
        for _ in range(20):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if score(mid, keep)[0] >= target else (lo, mid)
        n = score(lo, keep)[1]
        best = n if best is None else min(best, n)
    return best
