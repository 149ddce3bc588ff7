"""Clicks counted from the model's output (issue 21): `python -m bench.bench_model_clicks [--quick]`
(publishes "Clicks from the model's output" in docs/BENCHMARKS.md).

Each true object starts from the model's best-matching mask (highest IoU, at least 0.5; raw, then refined by
core/refine "edges", and for people by "zoom": the model again on the object's box); objects the model missed
(no mask at IoU >= 0.5) start from their tight box with the GrabCut tool, as a user would. Then the click
simulator of core/interactive/clicks.py adds corrective clicks (up to 20, stop at IoU 0.90 after 5) with the
tool a user has for that start: the "fix" tool (core/interactive/fix.py: each click re-cuts from the mask as it
stands, every click so far a sure seed) on a model's mask, the GrabCut tool's clicks after a box. The row "before
the fix tool" re-cuts from the model's mask with all clicks at once, with 5 px seeds (this benchmark's corrector
before). Beside it, NoC from the box alone with the GrabCut tool (the "Interactive" protocol). Data: coco_sample
val people with the seed's YOLO11n-seg (never trained on COCO val), nuclei val with nuclei-instance (held out);
the fix tool's two settings (seed size, re-cut per click) were chosen on coco_sample train people and on other
nuclei val images (every 20th from the 10th), not on these.
"""
from __future__ import annotations

import math
import os
import sys
import tempfile

import cv2
import numpy as np

from bench.bench_refine import YOLO, nuclei_images, people_images
from bench.common import machine, machine_line, under_load_note, update_section
from bench.refine_baselines import grabcut_from_mask
from maskwork.core.domain.masks import Mask
from maskwork.core.interactive import segment
from maskwork.core.interactive.clicks import noc, simulate
from maskwork.core.interactive.grabcut import grabcut
from maskwork.core.interactive.prompt import Prompt
from maskwork.core.refine.edges import refine_edges
from maskwork.core.refine.zoom import refine_zoom

MAX_CLICKS = 20


def fixed(image: np.ndarray, start: Mask, prompt: Prompt) -> Mask:
    """The fix tool from `start` with the prompt's clicks; start alone without clicks."""
    return segment("fix", image, Prompt(mask=start, points=list(prompt.points))) if prompt.points else start


def recut_at_once(image: np.ndarray, start: Mask, prompt: Prompt) -> Mask:
    """GrabCut from `start` with all the prompt's clicks as sure seeds (disks of 5 px): the corrector before."""
    if not prompt.points:
        return start
    seeds = np.zeros(image.shape[:2], np.uint8)  # 1 = object, 2 = background
    for x, y, positive in prompt.points:
        cv2.circle(seeds, (int(x), int(y)), 5, 1 if positive else 2, -1)
    merged = Mask.from_full(start.to_full() | (seeds == 1))  # the window reaches every positive click
    return grabcut_from_mask(image, merged, seeds)


def curves(images, start_of, corrector=fixed) -> list[tuple[list[float], bool]]:
    """(IoU curve, found by the model) of every true object."""
    out = []
    for image, truths, preds in images:
        for truth in truths:
            best = max(preds, key=truth.iou, default=None)
            if best is None or truth.iou(best) < 0.5:  # missed by the model: the user drags a box
                run, found = (lambda p, image=image: grabcut(image, p)), False  # noqa: E731
            else:
                start = start_of(image, best)
                run, found = (lambda p, image=image, start=start: corrector(image, start, p)), True  # noqa: E731
            out.append((simulate(run, truth, True, MAX_CLICKS, stop_at=0.90, min_clicks=5), found))
    return out


def box_curves(images) -> list[tuple[list[float], bool]]:
    return [(simulate(lambda p, image=image: grabcut(image, p), truth, True, MAX_CLICKS, stop_at=0.90,
                      min_clicks=5), False) for image, truths, _ in images for truth in truths]


def _row(data: str, start: str, runs: list[tuple[list[float], bool]], found_only: bool = True) -> str:
    c = [v for v, _ in runs]
    found = [v for v, f in runs if f]
    noc_found = f"{np.mean([noc(v, 0.85, MAX_CLICKS) for v in found]):.2f}" if found_only and found else ""
    first = float(np.mean([v[0] for v in c if not math.isnan(v[0])]))
    after = [float(np.mean([v[k] if k < len(v) else v[-1] for v in c])) for k in (1, 3, 5)]
    nocs = [float(np.mean([noc(v, t, MAX_CLICKS) for v in c])) for t in (0.85, 0.90)]
    return (f"| {data} | {start} | {len(c)} | {first:.3f} | " + " | ".join(f"{a:.3f}" for a in after)
            + f" | {nocs[0]:.2f} | {nocs[1]:.2f} | {noc_found} |")


def main() -> int:
    quick = "--quick" in sys.argv
    if not YOLO.is_file():
        print(f"skipped: {YOLO} not found")
        return 0
    os.environ["MASKWORK_CONFIG_DIR"] = tempfile.mkdtemp(prefix="maskwork-bench-clicks-")
    info = machine()
    step = 40 if quick else 20  # every 20th from the first: the fix tool was tuned on every 20th from the 10th
    from maskwork.core.models.onnx_models.register import register_onnx
    from maskwork.core.models.predict import Predictor

    yolo = Predictor(register_onnx(YOLO, name="yolo11n-seg").name)
    person = next(c.id for c in yolo.classes if c.name == "person")
    data = {"coco_sample val people (YOLO11n-seg int8)": people_images(yolo, "val2017"),
            f"nuclei val, every {step}th image (nuclei-instance)": nuclei_images(Predictor("nuclei-instance"), step)}
    lines = ["| data | start | objects | start IoU | 1 click | 3 clicks | 5 clicks | NoC@85 | NoC@90 "
             "| NoC@85, objects the model found |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, images in data.items():
        lines.append(_row(name, "model's mask, raw, before the fix tool",
                          curves(images, lambda image, m: m, recut_at_once)))
        lines.append(_row(name, "model's mask, raw", curves(images, lambda image, m: m)))
        lines.append(_row(name, "model's mask, refined (edges)", curves(images, refine_edges)))
        if name.startswith("coco"):  # zoom: one YOLO pass per object (a torch pass per nucleus takes seconds)
            zoomed = curves(images, lambda image, m: refine_zoom(yolo, image, m, person))
            lines.append(_row(name, "model's mask, refined (zoom)", zoomed))
        lines.append(_row(name, "box alone (GrabCut tool)", box_curves(images), found_only=False))
        print("\n".join(lines[-4:]), flush=True)
    body = "\n\n".join([
        "`python -m bench.bench_model_clicks` (bench/bench_model_clicks.py). " + (__doc__ or "").split("\n\n", 1)[1]
        .replace("\n", " ").strip(),
        machine_line(info) + " " + under_load_note(info["load"], info["cores"]),
        "\n".join(lines),
        "NoC@85/90: clicks after the start (model mask or box) to reach that IoU; 20 when never. The last column "
        "counts only the objects the model found (IoU >= 0.5), the ones the fix tool starts from: the objects it "
        "missed start from a box and cost the GrabCut tool's clicks (about 10 on people, most of them small).",
        "Goals (issue 21): NoC@85 from the model's output <= 2 on coco_sample people and <= 1.5 on nuclei: not met. "
        "What limits it: the model misses many objects (38 of the 69 people, most of them small, and two in five of "
        "the nuclei; their NoC is the box's, about 10), and a weight-free cut cannot turn a mask into the annotator's "
        "outline in one or two clicks (objects the model found: 5.4 clicks from YOLO's people refined by zoom, 7.6 "
        "from nuclei-instance's nuclei refined by edges). What would: a promptable model (SAM family) on the found "
        "objects' boxes and clicks - no SAM weights are on this machine - and a detector that finds the small ones.",
    ])
    update_section("Clicks from the model's output", body)
    print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
