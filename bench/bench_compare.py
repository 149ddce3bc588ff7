"""Comparing two models over a dataset: `python -m bench.bench_compare [--quick] [--images N]` (publishes "Compare two
models" in docs/BENCHMARKS.md).

Goal (issue "Compare two models over a whole dataset"): on 100 nuclei val images, `compare` of
nuclei-instance float vs int8 costs no more than 1.2x the two models' predictions alone. "Predictions alone"
is a plain loop that reads each image and runs each model on it (what any comparison must do at least);
`compare` adds the cache keys, per-image and dataset COCO mask AP of both, PQ, agreement and the bootstrap.
Loading the models and building the int8 twin are left out of both (the same for both, and cached). The bare
loop runs before and after the comparison and its mean is used, so machine load hits both alike.

Also measured: `compare --engine ray` on a local Ray instance (2 workers x 1 thread, the pool a machine's cores
give), against the same comparison in this process (both models' torch threads on every core).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from functools import partial

from bench.common import DATASETS, Row, load_average, machine, machine_line, table, under_load_note, update_section

GOAL = 1.2


def main() -> int:
    quick = "--quick" in sys.argv
    os.environ.setdefault("MASKWORK_CACHE_DIR", tempfile.mkdtemp(prefix="maskwork-bench-compare-"))
    from maskwork.core.comparison.compare import compare_models
    from maskwork.core.training.evaluate import prepare

    info = machine()
    data = DATASETS / "nuclei" / "val.json"
    n = int(sys.argv[sys.argv.index("--images") + 1]) if "--images" in sys.argv else (10 if quick else 100)
    ev_a = prepare("nuclei-instance", str(data), max_images=n)
    ev_b = prepare("nuclei-instance", str(data), max_images=n, int8=True)

    def bare(items=ev_a.items) -> float:
        start = time.perf_counter()
        for item in items:
            rgb = item.image()
            ev_a.predictor.predict(rgb, score_threshold=0.0)
            ev_b.predictor.predict(rgb, score_threshold=0.0)
        return time.perf_counter() - start

    bare(ev_a.items[:3])  # warm-up
    before = bare()
    # as the command runs by default: an empty cache, written as the predictions are made
    cache = tempfile.mkdtemp(prefix="maskwork-bench-compare-cache-")
    result, _, _ = compare_models("nuclei-instance", "nuclei-instance", str(data), int8_b=True, max_images=n,
                                  cache_dir=cache)
    after = bare()
    alone = (before + after) / 2
    work = result.cost["seconds"] - result.cost["prepare_seconds"]
    ratio = work / alone
    third, _, _ = compare_models("nuclei-instance", "nuclei-instance", str(data),
                                 max_images=n, cache_dir=cache)
    cached = third.cost["seconds"] - third.cost["prepare_seconds"]
    on_ray, ray_note = _on_ray(str(data), n)
    load_end = round(load_average(), 1)
    rows = [
        Row(f"two models' predictions alone, {n} nuclei val images", f"{alone:.1f} s", "", None,
            f"float + int8 nuclei-instance (before {before:.1f} s, after {after:.1f} s)"),
        Row("`compare` float vs int8, same images, empty cache", f"{work:.1f} s", f"<= {GOAL}x predictions alone",
            ratio <= GOAL, f"{ratio:.2f}x; models and records {sum(result.cost['predict_seconds']):.1f} s, scoring "
                           f"{result.cost['scoring_seconds']:.1f} s"),
        Row("again, both models' predictions in the cache", f"{cached:.1f} s", "", None,
            f"{third.cost['cache_hits']} cache hits: scoring only"),
        Row("`compare --engine ray`, local Ray, 2 workers x 1 thread, no cache", f"{on_ray:.1f} s", "", None,
            f"{on_ray / work:.2f}x the in-process `compare` above; {ray_note}"),
    ]
    body = "\n\n".join([
        "`python -m bench.bench_compare` (bench/bench_compare.py): `maskwork compare` against the predictions it "
        "cannot avoid.",
        machine_line(info) + " " + under_load_note(info["load"], info["cores"])
        + f"; load average {load_end} at the end",
        table(rows),
        f"Verdict of the run: {result.overall['verdict']} (mask AP A {result.overall['a']:.4f}, "
        f"B {result.overall['b']:.4f}).",
    ])
    if not quick:
        update_section("Compare two models", body)
    print(body)
    return 0


def _on_ray(data: str, n: int) -> tuple[float, str]:
    """Seconds of the comparison's work (Ray start-up and actors' model set-up included), and a note."""
    from maskwork.core.cluster.compare_job import predict_on_ray
    from maskwork.core.cluster.session import PoolSettings
    from maskwork.core.comparison.compare import compare_models

    settings = PoolSettings(workers=2, threads_per_worker=1, batch_size=4)
    result, _, _ = compare_models("nuclei-instance", "nuclei-instance", data, int8_b=True, max_images=n,
                                  cache_dir=None, runner=partial(predict_on_ray, data=data, settings=settings))
    return (result.cost["seconds"] - result.cost["prepare_seconds"],
            f"scoring {result.cost['scoring_seconds']:.1f} s of it, the rest Ray's start, the actors' models and "
            "the predictions")


if __name__ == "__main__":
    raise SystemExit(main())
