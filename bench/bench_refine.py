"""Refine (issue 21): `python -m bench.bench_refine [--quick]` (publishes "Refine" in docs/BENCHMARKS.md).

Quality: each true object's best-matching model mask (IoU >= 0.5; the same objects for every method), mean
IoU against the truth raw and after each refinement:
- coco_sample people, the seed's YOLO11n-seg int8 ONNX (../shared/models, registered as `models add` does),
  score threshold 0.25. train2017 people chose the defaults; val2017 people (images from COCO's val split,
  which YOLO never trained on) are the reported result.
- nuclei val (held out from the bundled nuclei-instance model's training), every 4th image (--quick: 8th).
Latency: the weight-free refinement per object on the coco_sample val images (640 px on the long side).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

from bench.common import (
    DATASETS,
    ROOT,
    Row,
    Timing,
    machine,
    machine_line,
    ms_text,
    table,
    under_load_note,
    update_section,
)
from bench.refine_baselines import grabcut_from_mask
from maskwork.core.domain.masks import Mask
from maskwork.core.refine.edges import refine_edges

YOLO = ROOT.parent / "shared" / "models" / "yolo11n-seg-quantized.onnx"
GOAL_PEOPLE = 0.05  # refined - raw mean IoU on coco_sample val people
GOAL_P95_MS = 150.0
METHODS: dict[str, Callable] = {"edges (guided filter, default)": refine_edges,
                                "GrabCut from the mask (baseline)": grabcut_from_mask}

Pair = tuple[np.ndarray, Mask, Mask]  # image, truth, the model's best match


def _matched(image: np.ndarray, truths: list[Mask], preds: list[Mask]) -> list[Pair]:
    out = []
    for truth in truths:
        best = max(preds, key=truth.iou, default=None)
        if best is not None and truth.iou(best) >= 0.5:
            out.append((image, truth, best))
    return out


def people_images(split: str) -> list[tuple[np.ndarray, list[Mask], list[Mask]]]:
    """(image, true people, YOLO's person masks) of each coco_sample `split` image with people."""
    from maskwork.core.formats.coco import load_coco
    from maskwork.core.models.onnx_models.register import register_onnx
    from maskwork.core.models.predict import Predictor
    from maskwork.core.store.images import read_image

    predictor = Predictor(register_onnx(YOLO, name="yolo11n-seg").name)
    ours = next(c.id for c in predictor.classes if c.name == "person")
    ds = load_coco(DATASETS / "coco_sample" / f"instances_{split}.json")
    theirs = next(c.id for c in ds.classes if c.name == "person")
    out = []
    for ann in ds.annotations:
        truths = [i.mask for i in ann.corrected.instances if i.class_id == theirs and not i.iscrowd]
        if truths:
            image = read_image(DATASETS / "coco_sample" / split / ann.file_name)
            preds = [i.mask for i in predictor.predict(image, 0.25).filtered(0.25) if i.class_id == ours]
            out.append((image, truths, preds))
    return out


def nuclei_images(step: int) -> list[tuple[np.ndarray, list[Mask], list[Mask]]]:
    """(image, true nuclei, nuclei-instance's masks) of every `step`-th nuclei val image."""
    from maskwork.core.formats.coco import load_coco
    from maskwork.core.models.predict import Predictor
    from maskwork.core.store.images import read_image

    predictor = Predictor("nuclei-instance")
    ds = load_coco(DATASETS / "nuclei" / "val.json")
    out = []
    for ann in ds.annotations[::step]:
        image = read_image(DATASETS / "nuclei" / "images" / ann.file_name)
        preds = [i.mask for i in predictor.predict(image, 0.5).filtered(0.5)]
        out.append((image, [i.mask for i in ann.corrected.instances], preds))
    return out


def matched(images) -> tuple[list[Pair], int]:
    """(each true object's best model mask at IoU >= 0.5, number of true objects)."""
    pairs = [p for image, truths, preds in images for p in _matched(image, truths, preds)]
    return pairs, sum(len(t) for _, t, _ in images)


def score(pairs: list[Pair], fn: Callable | None) -> tuple[float, Timing]:
    ious, t = [], Timing()
    for image, truth, pred in pairs:
        start = time.perf_counter()
        out = pred if fn is None else fn(image, pred)
        t.samples_ms.append((time.perf_counter() - start) * 1000)
        ious.append(truth.iou(out))
    return float(np.mean(ious)), t


def main() -> int:
    quick = "--quick" in sys.argv
    if not YOLO.is_file():
        print(f"skipped: {YOLO} not found")
        return 0
    os.environ["MASKWORK_CONFIG_DIR"] = tempfile.mkdtemp(prefix="maskwork-bench-refine-")
    info = machine()
    data = {"coco_sample train2017 people (chose the defaults)": matched(people_images("train2017")),
            "coco_sample val2017 people": matched(people_images("val2017")),
            "nuclei val": matched(nuclei_images(8 if quick else 4))}
    lines = ["| data | model | objects matched / true | raw | " + " | ".join(METHODS) + " |",
             "|---|---|---:|---:|" + "---:|" * len(METHODS)]
    gains: dict[str, float] = {}
    timing: dict[str, Timing] = {}
    for name, (pairs, total) in data.items():
        raw, _ = score(pairs, None)
        cells = []
        for method, fn in METHODS.items():
            mean, t = score(pairs, fn)
            cells.append(f"{mean:.3f} ({mean - raw:+.3f})")
            gains[f"{name}|{method}"] = mean - raw
            if name == "coco_sample val2017 people":
                timing[method] = t
        model = "nuclei-instance" if name.startswith("nuclei") else "YOLO11n-seg int8"
        lines.append(f"| {name} | {model} | {len(pairs)} / {total} | {raw:.3f} | " + " | ".join(cells) + " |")
    default = next(iter(METHODS))
    people = gains[f"coco_sample val2017 people|{default}"]
    nuclei = gains[f"nuclei val|{default}"]
    rows = [
        Row("refined YOLO masks, coco_sample val people: mean IoU gain", f"{people:+.3f}", f">= +{GOAL_PEOPLE:.2f}",
            people >= GOAL_PEOPLE, "weight-free"),
        Row("refined nuclei-instance masks, nuclei val: mean IoU gain", f"{nuclei:+.3f}", ">= 0 (no worse)",
            nuclei >= 0, ""),
    ]
    for method, t in timing.items():
        rows.append(Row(f"{method}: one object, coco_sample val (640 px photos)", ms_text(t),
                        f"p95 < {GOAL_P95_MS:.0f} ms" if method == default else "",
                        t.p95 < GOAL_P95_MS if method == default else None, ""))
    body = "\n\n".join([
        "`python -m bench.bench_refine` (bench/bench_refine.py; core/refine). Each true object's best-matching "
        "model mask (IoU >= 0.5, the same objects for every column), mean IoU against the truth. YOLO: the "
        "seed's YOLO11n-seg int8 ONNX at score >= 0.25; its defaults were chosen on coco_sample train2017 "
        "people, the val2017 people (COCO's validation split, never trained on) are the result. nuclei-instance: "
        f"nuclei val (held out from its training), every {8 if quick else 4}th image.",
        machine_line(info) + " " + under_load_note(info["load"], info["cores"]),
        "\n".join(lines),
        table(rows),
        "Reading: the colour guided filter moves the outline onto colour edges within one model cell "
        "(radius = the image's long side / 80, YOLO's prototype grid); it gains most where the model's cell "
        "is coarse next to the object (nuclei: Mask R-CNN's 28x28 masks; people: hands, heads, the gap "
        "between legs), and cannot remove a whole limb-sized bleed of the same colour as the person. "
        "GrabCut from the mask (the issue's first try) gained less on people at four times the cost, and more on "
        "nuclei (a nucleus' colour against a plain background suits its colour models); GrabCut followed by the "
        "filter measured 0.840 on 13 nuclei val images (the filter alone 0.818) but 0.753 on val people (the "
        "filter alone 0.760), so the default stays the filter alone, for photos. Feeding the "
        "guided filter YOLO's own soft mask (the sigmoid of the upsampled prototype logits) instead of the cut "
        "mask measured no better on train people (0.777 at temperature 0.5, 0.773 at 1, against 0.778 from "
        "the cut mask), so the refiners take the mask alone and work for every model. Timings are noisy: "
        "the machine is shared by several agents.",
    ])
    update_section("Refine", body)
    print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
