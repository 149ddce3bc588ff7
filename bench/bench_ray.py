"""`--engine ray` throughput on this machine: `python -m bench.bench_ray [--quick]`.

Publishes the "Ray engine: throughput and start-up" section of docs/BENCHMARKS.md:
1. images/s of single-process predict (2 torch threads) vs `predict --engine ray` with 1 worker x 2
   threads and 2 workers x 1 thread (the same total thread count), on real images with the bundled models.
   Both are the command itself, outputs written. Steady state: the slope of images done over time
   (single-process: every image after the first; Ray: the batches the driver writes between the first and
   the last), so model loading and Ray's start-up are reported apart.
2. Ray start-up: starting a local instance (ray.init), and a run's time to its first result.
3. The driver's write ceiling: actors that answer instantly with a real result (no model, no image read),
   so the rate is what the driver can decode and write per second for each output kind.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import DATASETS, Row, machine, machine_line, table, under_load_note, update_section

TITLE = "Ray engine: throughput and start-up"
RATIO_GOAL = 0.9
CEILING_IMAGES = 400


def _images(quick: bool) -> dict:
    val = DATASETS / "nuclei" / "val.json"
    nuclei = [val.parent / "images" / i["file_name"] for i in json.loads(val.read_text())["images"]]
    aerial = sorted((DATASETS / "aerial" / "images").glob("*.jpg"))
    return {"nuclei-instance": nuclei[:16 if quick else 64], "aerial-landcover": aerial[:16] if quick else aerial}


def _cli(argv: list) -> tuple[int, str]:
    from maskwork.core.cli import run

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        rc = run([str(a) for a in argv])
    return rc, err.getvalue()


def slope(points: list[tuple[float, int]]) -> float:
    """images/s: least-squares slope of images done over time. Robust to a batch that arrives late (Ray
    Data hands results over in bursts), unlike (last - first) / time."""
    t = np.array([p[0] for p in points])
    n = np.array([p[1] for p in points], float)
    return float(np.polyfit(t - t[0], n, 1)[0])


class _Recorder:
    """Stands in for the command's progress line: (time, images done) of every batch the driver wrote."""
    points: list = []

    def __init__(self, label: str, stream=None) -> None:
        _Recorder.points = []

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if done:
            _Recorder.points.append((time.perf_counter(), done))


def _recorded(module, argv: list) -> tuple[list, float]:
    """Run the command with `module.<progress class>` recording; (points, time to the first one)."""
    name = "RateProgress" if hasattr(module, "RateProgress") else "TextProgress"
    original = getattr(module, name)
    setattr(module, name, _Recorder)
    try:
        start = time.perf_counter()
        rc, err = _cli(argv)
    finally:
        setattr(module, name, original)
    points = _Recorder.points
    if rc != 0 or len(points) < 5:
        raise SystemExit(f"{' '.join(map(str, argv[:8]))} ... failed ({rc}) or too few points ({len(points)}): "
                         f"{err[-1500:]}")
    return points, points[0][0] - start


def single_process(model: str, images: list[Path], out: Path) -> dict:
    """`predict` itself (2 threads): every image after the first, its label PNG or COCO entry included."""
    from maskwork.core.cli import model_commands

    points, first = _recorded(model_commands, ["predict", "--model", model, "--out", out, *images])
    return {"rate": slope(points[1:]), "first": first}


def on_ray(model: str, images: list, workers: int, threads: int, out: Path) -> dict:
    """`predict --engine ray` itself. A batch's result reaches the driver about when the actor finishes the
    next one, and the last two come together: the batches between the first and the last keep the actors'
    own pace."""
    from maskwork.core.cluster import progress

    points, first = _recorded(progress, ["predict", "--engine", "ray", "--workers", workers, "--threads-per-worker",
                                         threads, "--model", model, "--out", out, *images])
    return {"rate": slope(points[1:-1]), "first": first}


def throughput_rows(model: str, images: list[Path], work: Path) -> list[Row]:
    one = single_process(model, images, work / f"{model}-single")
    rows = [Row(f"{model}, {len(images)} images: single-process, 2 threads", f"{one['rate']:.2f} img/s",
                note=f"first result after {one['first']:.1f} s (model load + first image); outputs written as in "
                     "the Ray runs")]
    for workers, threads in ((1, 2), (2, 1)):
        r = on_ray(model, images, workers, threads, work / f"{model}-{workers}x{threads}")
        ratio = r["rate"] / one["rate"]
        rows.append(Row(f"{model}: Ray, {workers} worker{'s' if workers > 1 else ''} x {threads} "
                        f"thread{'s' if threads > 1 else ''}", f"{r['rate']:.2f} img/s, {ratio:.2f}x single-process",
                        f">= {RATIO_GOAL}x single-process", ratio >= RATIO_GOAL,
                        f"first result after {r['first']:.1f} s (model load and shipping, actor processes, "
                        "model rebuilt, first batch of 4)"))
    return rows


def _instant_actor(payload: bytes):
    """An actor class with no model: every image gets `payload` at once (defined here, shipped by value)."""
    from maskwork.core.cluster.actors import PredictActor, _rows

    class InstantActor(PredictActor):
        def __init__(self, parcel_ref, options):  # no model to build
            pass

        def __call__(self, batch):
            n = len(batch["index"])
            return _rows(list(batch["index"]), [""] * n, [payload] * n)

    return InstantActor


def ceiling_rows(work: Path, count: int) -> list[Row]:
    """Per output kind: a real result of a real image, written `count` times by the driver."""
    from maskwork.core.annotation import ClassList
    from maskwork.core.cluster import actors
    from maskwork.core.cluster.codec import PAYLOADS
    from maskwork.core.images import read_image
    from maskwork.core.models.predict import Predictor
    from maskwork.core.project import Project

    nuclei = DATASETS / "nuclei" / "images" / json.loads((DATASETS / "nuclei" / "val.json").read_text()
                                                          )["images"][0]["file_name"]
    aerial = sorted((DATASETS / "aerial" / "images").glob("*.jpg"))[0]
    cases = [("nuclei-instance", nuclei, "COCO JSON (progress log, assembled at the end)", "out.json", "layer"),
             ("aerial-landcover", aerial, "label PNGs", "pngs", "png"),
             ("nuclei-semantic", nuclei, "a project's prediction layers (store's atomic save per batch)", "project",
              "result")]
    rows = []
    original = actors.PredictActor
    try:
        for model, image, kind, target, payload in cases:
            predictor = Predictor(model, device="cpu")
            result = predictor.predict(read_image(image))
            folder = work / f"ceiling-{model}"
            folder.mkdir()
            for k in range(count):  # the actors never open them; the driver needs files to list and key
                os.link(image, folder / f"{k:05d}{image.suffix}")
            out = work / f"ceiling-{model}-{target}"
            if target == "project":
                out = folder
                Project.create(folder, ClassList.from_names(["background", "nucleus"]), "semantic").close()
            actors.PredictActor = _instant_actor(PAYLOADS[payload][0](result, predictor.classes))
            r = on_ray(model, [folder] if target != "project" else [], 2, 1, out)
            size = (f"{len(result)} objects" if hasattr(result, "masks") else
                    f"{result.label_map.shape[1]}x{result.label_map.shape[0]} label map")
            rows.append(Row(f"driver write ceiling: {kind}", f"{r['rate']:.0f} img/s",
                            note=f"{model} result of a real image ({size}), {count} images, batches of 4"))
    finally:
        actors.PredictActor = original
    return rows


def start_up_row() -> Row:
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False)
    seconds = time.perf_counter() - start
    return Row("Ray start-up: a local instance (ray.init, 2 CPUs)", f"{seconds:.1f} s",
               note="once per command without --address; a cluster started with `ray start` is joined instead")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer images (a smoke test; nothing is published)")
    args = ap.parse_args(argv)
    os.environ.setdefault("MASKWORK_OFFLINE", "1")
    os.environ["MASKWORK_THREADS"] = "2"
    import ray
    import torch

    torch.set_num_threads(2)
    info = machine()
    started = time.perf_counter()
    rows = [start_up_row()]
    work = Path(tempfile.mkdtemp(prefix="maskwork-bench-ray-"))
    try:
        for model, images in _images(args.quick).items():
            rows += throughput_rows(model, images, work)
        rows += ceiling_rows(work, 60 if args.quick else CEILING_IMAGES)
    finally:
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    minutes = (time.perf_counter() - started) / 60
    body = "\n\n".join([
        machine_line(info), under_load_note(info["load"], info["cores"]), table(rows),
        "Threads: single-process 2 torch threads (`MASKWORK_THREADS=2`); Ray workers get theirs from "
        "`--threads-per-worker`, so both sides use 2 in total. Rates: least-squares slope of images done over "
        "time, both from the command itself with its outputs written (single-process: every image after the first; "
        "Ray: every batch the driver writes between the first and the last, which arrive late and bunched; "
        "default batch size 4, a local Ray instance with 2 CPUs). "
        "The ceilings: the same with actors that answer instantly with a stored real result. Throughput of a "
        "cluster = min(per-worker rate x workers, ceiling) (docs/SCALING.md). "
        f"Run: `python -m bench.bench_ray` ({minutes:.0f} min)."])
    if not args.quick:
        update_section(TITLE, body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
