"""Predict overhead and batch throughput: `python -m bench.bench_overhead [--quick] [--threads N]`.

Publishes the "Predict overhead and batch throughput" section of docs/BENCHMARKS.md.

1. Predictor.predict(rgb) vs the bare model: the same module (bundled weights from resources/models)
   called directly on the tensor Predictor.prepare makes, under torch.inference_mode, with no
   post-processing (semantic: model(x[None])["out"] on the whole image, where Maskwork tiles;
   instance: torchvision's own model([x]), its postprocess included). Overhead = predict / bare - 1.
2. A folder of real images: predict_batch (decode overlapped, full post-processing) vs a bare loop
   (read + prepare + bare forward, no post-processing) over the same files; images/s and ratio.
Both are measured in the same process, alternating, so load from other processes hits both alike.
"""
from __future__ import annotations

import os
import sys
import time

import torch

from bench.common import (
    DATASETS,
    Row,
    Timing,
    machine,
    machine_line,
    ms_text,
    table,
    time_it,
    under_load_note,
    update_section,
)
from maskwork.core.models.batch import predict_batch
from maskwork.core.models.predict import Predictor
from maskwork.core.models.torch_models.semantic import tile_starts
from maskwork.core.store.images import read_image

TITLE = "Predict overhead and batch throughput"
MODELS = {"nuclei-semantic": "nuclei/images", "aerial-landcover": "aerial/images", "nuclei-instance": "nuclei/images"}
BATCH_MODEL = "nuclei-instance"
OVERHEAD_GOAL = 10.0  # percent
RATIO_GOAL = 0.9


def _files(folder: str) -> list:
    root = DATASETS / folder
    return sorted(p for p in root.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def bare_forward(p: Predictor, x: torch.Tensor):
    """The model alone on an already prepared tensor: what any wrapper has to pay anyway."""
    with torch.inference_mode():
        x = x.to(p.device)
        if p.task == "instance":
            return p.model([x])[0]
        out = p.model(x[None])
        return out["out"] if isinstance(out, dict) else out


def bare_windows(p: Predictor, x: torch.Tensor) -> None:
    """The bare model on the same windows Maskwork's tiling cuts (to tell tiling from the rest)."""
    pol, (h, w) = p.spec.input, x.shape[-2:]
    th, tw = min(pol.tile, h), min(pol.tile, w)
    for ty in tile_starts(h, th, pol.overlap):
        for tx in tile_starts(w, tw, pol.overlap):
            bare_forward(p, x[:, ty : ty + th, tx : tx + tw])


def _alternate(a, b, runs: int, warmup: int) -> tuple[Timing, Timing]:
    """Time a and b in turn (a, b, a, b, ...) so a burst of load is shared fairly between them."""
    ta, tb = Timing(), Timing()
    for _ in range(warmup):
        a(), b()
    for _ in range(runs):
        ta.samples_ms += time_it(a, runs=1, warmup=0).samples_ms
        tb.samples_ms += time_it(b, runs=1, warmup=0).samples_ms
    return ta, tb


def overhead_rows(runs: int) -> list[Row]:
    rows = []
    for name, folder in MODELS.items():
        p = Predictor(name)
        files = _files(folder)
        image = read_image(files[len(files) // 2])
        x = p.prepare(image).tensor
        t_pred, t_bare = _alternate(lambda: p.predict(image), lambda: bare_forward(p, x), runs, warmup=1)
        pct = (t_pred.median / t_bare.median - 1) * 100
        note = f"bare forward {ms_text(t_bare, p95=False)}; input {tuple(x.shape[1:])}"
        if p.spec.input.mode == "tile" and max(x.shape[1:]) > p.spec.input.tile:
            t_win = time_it(lambda: bare_windows(p, x), runs=runs, warmup=1)
            from maskwork.core.models.torch_models.semantic import WHOLE_TILES

            whole = x.shape[1] * x.shape[2] <= WHOLE_TILES * p.spec.input.tile ** 2
            note += (f"; {'one pass (within the tile policy area)' if whole else 'tiled with overlap'}; "
                     f"as overlapping {p.spec.input.tile}-px windows the bare model takes median "
                     f"{t_win.median:.1f} ms ({(t_win.median / t_bare.median - 1) * 100:+.0f}%); predict also "
                     "resizes the label map to the original size")
        if p.task == "instance":
            note += f"; {len(p.predict(image))} objects"
        rows.append(Row(f"{name} predict on {image.shape[1]}x{image.shape[0]}",
                        f"{ms_text(t_pred, p95=False)}, overhead {pct:+.1f}%",
                        f"<= {OVERHEAD_GOAL:.0f}% over bare forward", pct <= OVERHEAD_GOAL, note))
    return rows


def batch_rows(n: int, runs: int) -> list[Row]:
    p = Predictor(BATCH_MODEL)
    files = _files(MODELS[BATCH_MODEL])[:n]

    def bare_loop():
        for f in files:
            bare_forward(p, p.prepare(read_image(f), where=str(f)).tensor)

    def batch():
        for _ in predict_batch(p, files):
            pass

    t_batch, t_bare = _alternate(batch, bare_loop, runs, warmup=1)
    ips_batch, ips_bare = n / (t_batch.median / 1000), n / (t_bare.median / 1000)
    ratio = ips_batch / ips_bare
    return [Row(f"{n} nuclei images, bare loop (read + prepare + forward, {BATCH_MODEL})",
                f"{ips_bare:.2f} images/s", note=ms_text(t_bare, p95=False)),
            Row(f"{n} nuclei images, predict_batch ({BATCH_MODEL}, full results)",
                f"{ips_batch:.2f} images/s, {ratio:.2f}x bare loop", f">= {RATIO_GOAL}x bare loop",
                ratio >= RATIO_GOAL, ms_text(t_batch, p95=False))]


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    threads = int(argv[argv.index("--threads") + 1]) if "--threads" in argv else 2
    os.environ["MASKWORK_THREADS"] = str(threads)  # Predictor reads it once per process
    torch.set_num_threads(threads)
    info = machine()
    start = time.perf_counter()
    rows = overhead_rows(runs=3 if quick else 7) + batch_rows(4 if quick else 8, runs=1 if quick else 3)
    print(table(rows))
    body = "\n\n".join([
        machine_line(info), under_load_note(info["load"], info["cores"]), table(rows),
        f"Threads: {torch.get_num_threads()}. Bundled weights (resources/models). Predict and the bare model "
        "alternate in one process; medians after one warm-up. Bare = the same module on the tensor "
        "Predictor.prepare makes, under torch.inference_mode, no post-processing (instance: torchvision's "
        f"own forward, its mask pasting included). Run: `python -m bench.bench_overhead` "
        f"({time.perf_counter() - start:.0f} s)."])
    update_section(TITLE, body)


if __name__ == "__main__":
    main(sys.argv[1:])
