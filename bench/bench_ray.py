"""`--engine ray` throughput on this machine: `python -m bench.bench_ray [--quick]`.

Publishes the "Ray engine: throughput and start-up" section of docs/BENCHMARKS.md:
1. images/s of single-process predict (2 torch threads) vs `predict --engine ray` with 1 worker x 2
   threads and 2 workers x 1 thread (the same total thread count), on real images with the bundled models.
   Both are the command itself, outputs written. Rate = images / (last image written - first image
   started): single-process from its "0 done" report (model loaded) to the last, Ray from the first batch an
   actor starts to the last batch the driver writes. What comes before (model load; shipping, actor
   processes, model rebuilt) is reported apart. The three run in turn, ROUNDS times; medians.
2. Ray start-up: starting a local instance (ray.init), and a run's time to its first batch.
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

from bench.common import DATASETS, Row, machine, machine_line, table, under_load_note, update_section

TITLE = "Ray engine: throughput and start-up"
RATIO_GOAL = 0.9
ROUNDS = 3
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


class _Recorder:
    """Stands in for the command's progress line: (wall time, images done) of every report, the first
    ("0 done") included: the single-process command reports it just before its first image."""
    points: list = []

    def __init__(self, label: str, stream=None) -> None:
        _Recorder.points = []

    def __call__(self, done: int, total: int, message: str = "") -> None:
        _Recorder.points.append((time.time(), done))


def _run_recorded(module, argv: list) -> tuple[float, list]:
    """Run the command with `module.<progress class>` recording; (wall time at its start, points)."""
    name = "RateProgress" if hasattr(module, "RateProgress") else "TextProgress"
    original = getattr(module, name)
    setattr(module, name, _Recorder)
    try:
        start = time.time()
        rc, err = _cli(argv)
    finally:
        setattr(module, name, original)
    if rc != 0 or not _Recorder.points:
        raise SystemExit(f"{' '.join(map(str, argv[:8]))} ... failed ({rc}): {err[-1500:]}")
    return start, [p for p in _Recorder.points if p[1] > 0 or p is _Recorder.points[0]]


def single_process(model: str, images: list[Path], out: Path) -> dict:
    """`predict` itself (2 threads): images / (last image written - first image started)."""
    from maskwork.core.cli import model_commands

    start, points = _run_recorded(model_commands, ["predict", "--model", model, "--out", out, *images])
    work = [p for p in points if p[1] == 0][-1][0]  # the "0 done" report: the model is loaded, images begin
    return {"rate": len(images) / (points[-1][0] - work), "fixed": work - start}


def _timing_actor(registry: str):
    """The current PredictActor class, also telling `registry` when each batch starts (shipped by value)."""
    from maskwork.core.cluster import actors

    class Timed(actors.PredictActor):
        def __call__(self, batch):
            import time as clock

            import ray as ray_
            ray_.get_actor(registry).started.remote(clock.time())
            return super().__call__(batch)

    return Timed


def on_ray(model: str, inputs: list, workers: int, threads: int, out: Path, images: int, extra=()) -> dict:
    """`predict --engine ray` itself: images / (last batch written by the driver - first batch started by an
    actor); `fixed`: from the command's start to that first batch (model shipped, actors started)."""
    import ray

    from maskwork.core.cluster import actors, progress

    @ray.remote(num_cpus=0)
    class Starts:
        def __init__(self):
            self.first = float("inf")

        def started(self, t):
            self.first = min(self.first, t)

        def get(self):
            return self.first

    starts = Starts.options(name="maskwork-bench-starts").remote()
    original = actors.PredictActor
    actors.PredictActor = _timing_actor("maskwork-bench-starts")
    try:
        start, points = _run_recorded(progress, ["predict", "--engine", "ray", "--workers", workers,
                                                 "--threads-per-worker", threads, "--model", model, "--out", out,
                                                 *extra, *inputs])
        work = ray.get(starts.get.remote())
    finally:
        actors.PredictActor = original
        ray.kill(starts)
    return {"rate": images / (points[-1][0] - work), "fixed": work - start}


def throughput_rows(model: str, images: list[Path], work: Path, rounds: int) -> list[Row]:
    """Single-process and both Ray layouts, interleaved, `rounds` times: the machine is shared, so the
    medians (and the ratio within each round) say more than one run of each."""
    from statistics import median

    layouts = ((1, 2), (2, 1))
    runs: dict = {"single": [], **{lay: [] for lay in layouts}}
    for k in range(rounds):
        runs["single"].append(single_process(model, images, work / f"{model}-single-{k}"))
        for workers, threads in layouts:
            runs[(workers, threads)].append(on_ray(model, images, workers, threads,
                                                   work / f"{model}-{workers}x{threads}-{k}", len(images)))

    def spread(key, field="rate") -> str:
        values = [r[field] for r in runs[key]]
        return f"{median(values):.2f}" + (f" ({min(values):.2f}-{max(values):.2f})" if len(values) > 1 else "")

    rows = [Row(f"{model}, {len(images)} images: single-process, 2 threads", f"{spread('single')} img/s",
                note=f"before the first image: {spread('single', 'fixed')} s (model load)")]
    for workers, threads in layouts:
        ratio = median(r["rate"] / s["rate"] for r, s in zip(runs[(workers, threads)], runs["single"]))
        rows.append(Row(f"{model}: Ray, {workers} worker{'s' if workers > 1 else ''} x {threads} "
                        f"thread{'s' if threads > 1 else ''}", f"{spread((workers, threads))} img/s, "
                        f"{ratio:.2f}x single-process", f">= {RATIO_GOAL}x single-process", ratio >= RATIO_GOAL,
                        f"before the first batch: {spread((workers, threads), 'fixed')} s (model load and "
                        "shipping, actor processes start, model rebuilt)"))
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
    from maskwork.core.cluster import actors
    from maskwork.core.cluster.codec import PAYLOADS
    from maskwork.core.domain.annotation import ClassList
    from maskwork.core.models.predict import Predictor
    from maskwork.core.store.images import read_image
    from maskwork.core.store.project import Project

    nuclei = DATASETS / "nuclei" / "images" / json.loads((DATASETS / "nuclei" / "val.json").read_text()
                                                          )["images"][0]["file_name"]
    aerial = sorted((DATASETS / "aerial" / "images").glob("*.jpg"))[0]
    # (model, image, output, --out, payload kind, batch size)
    cases = [("nuclei-instance", nuclei, "COCO JSON (progress log, assembled at the end)", "out.json", "layer", 4),
             ("aerial-landcover", aerial, "label PNGs", "pngs", "png", 4),
             ("nuclei-semantic", nuclei, "a project's prediction layers (store's atomic save per batch)", "project",
              "result", 4),
             ("nuclei-semantic", nuclei, "a project's prediction layers, `--batch-size 16`", "project", "result", 16)]
    rows = []
    original = actors.PredictActor
    try:
        for k, (model, image, kind, target, payload, batch) in enumerate(cases):
            predictor = Predictor(model, device="cpu")
            result = predictor.predict(read_image(image))
            folder = work / f"ceiling-{k}-{model}"
            folder.mkdir()
            for n in range(count):  # the actors never open them; the driver needs files to list and key
                os.link(image, folder / f"{n:05d}{image.suffix}")
            out = work / f"ceiling-{k}-{model}-{target}"
            if target == "project":
                out = folder
                Project.create(folder, ClassList.from_names(["background", "nucleus"]), "semantic").close()
            actors.PredictActor = _instant_actor(PAYLOADS[payload][0](result, predictor.classes))
            r = on_ray(model, [folder] if target != "project" else [], 2, 1, out, count,
                       ["--batch-size", batch])
            size = (f"{len(result)} objects" if hasattr(result, "masks") else
                    f"{result.label_map.shape[1]}x{result.label_map.shape[0]} label map")
            rows.append(Row(f"driver write ceiling: {kind}", f"{r['rate']:.0f} img/s",
                            note=f"{model} result of a real image ({size}), {count} images, batches of {batch}"))
    finally:
        actors.PredictActor = original
    return rows


def start_up_row() -> Row:
    import ray

    from maskwork.core.cluster.session import PoolSettings, local_instance

    start = time.perf_counter()
    ray.init(**{**local_instance(PoolSettings()), "num_cpus": 2}, include_dashboard=False)  # as the command does
    seconds = time.perf_counter() - start
    return Row("Ray start-up: a local instance (ray.init, 2 CPUs)", f"{seconds:.1f} s",
               note="once per command without --address (the command starts it the same way; here it is started "
                    "once and the runs below join it); a cluster started with `ray start` is joined instead")


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
            rows += throughput_rows(model, images, work, 1 if args.quick else ROUNDS)
        rows += ceiling_rows(work, 60 if args.quick else CEILING_IMAGES)
    finally:
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    minutes = (time.perf_counter() - started) / 60
    body = "\n\n".join([
        machine_line(info), under_load_note(info["load"], info["cores"]), table(rows),
        "Threads: single-process 2 torch threads (`MASKWORK_THREADS=2`); Ray workers get theirs from "
        "`--threads-per-worker`, so both sides use 2 in total. Every row runs the command itself (in the bench's "
        "process, outputs written; Ray: a local instance with 2 CPUs, workers at normal priority as the command "
        "starts them, default batch size 4). Rate = images / (last image written - first image started): "
        "single-process from its model being loaded, Ray from the first batch an actor starts to the last batch "
        "the driver writes; what comes before is the note. Each model: single-process, Ray 1 x 2 and Ray 2 x 1 "
        f"run in turn, {ROUNDS} rounds; medians (range), the ratio is the median of the rounds' ratios. "
        "The ceilings: the same with actors that answer instantly with a stored real result. Throughput of a "
        "cluster = min(per-worker rate x workers, ceiling) (docs/SCALING.md). "
        f"Run: `python -m bench.bench_ray` ({minutes:.0f} min)."])
    if not args.quick:
        update_section(TITLE, body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
