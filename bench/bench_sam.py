"""Promptable models (SAM family): `python -m bench.bench_sam [--quick] [--only NAMES]` -> docs/BENCHMARKS.md "SAM".

- encoder time of every family Maskwork's catalog offers (core/interactive/sam/catalog.py), through
  PromptModel.encode (resize, normalise, pad, onnxruntime) on a real photo: each network at its real size with
  random weights, exported in the form of the catalog's file (bench/sam_networks.py says how);
- decoder latency with a cached embedding (the per-click cost) for each layout, through PromptModel.decode
  (ONNX decoder + upscaling of the shown candidate to the image).
EfficientSAM's and MobileSAM's code is not on PyPI: their rows are measured only when $MASKWORK_EFFICIENTSAM_SRC
and $MASKWORK_MOBILESAM_SRC name checkouts (and timm is importable); otherwise the run says how to add them.
Only a full run (no --only, no --quick) publishes; a partial run prints its table.
"""
from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import sam_networks as N
from bench.common import DATASETS, Row, machine, machine_line, ms_text, table, time_it, under_load_note, update_section
from maskwork.core.interactive.prompt import Prompt
from maskwork.core.interactive.sam.model import PromptModel
from maskwork.core.store.images import read_image

PHOTO = DATASETS / "coco_sample" / "val2017" / "000000005001.jpg"
NUCLEI = DATASETS / "nuclei" / "images" / "0121d6759c5adb29.png"
DECODER_GOAL_MS = 50.0
QUICK = ["mobilesam", "efficientsam-ti", "sam2.1-tiny", *(f"decoder-{k}" for k in N.DECODERS)]
ALL = [*N.ENCODERS, *(f"decoder-{k}" for k in N.DECODERS)]
RUN_LINE = (f"{N.MOBILESAM_ENV}=/path/to/MobileSAM MASKWORK_EFFICIENTSAM_SRC=/path/to/EfficientSAM "
            "PYTHONPATH=/path/to/timm-dir python -m bench.bench_sam")


def encoder_row(name: str, work: Path, runs: int) -> Row:
    what, _, build = N.ENCODERS[name]
    image = read_image(PHOTO)
    built = build(work)
    gc.collect()   # the torch network is no longer needed
    model = PromptModel(built.encoder, built.decoder, built.layout, name)
    t = time_it(lambda: model.encode(image), runs=runs, warmup=1)
    size = built.encoder.stat().st_size / 2**20
    built.encoder.unlink()   # ViT-L's is over 1 GB
    return Row(f"encoder {name} ({what}, {built.params_m:.1f}M), {image.shape[1]}x{image.shape[0]} photo",
               ms_text(t, p95=runs > 2),
               note=f"layout {built.layout}; ONNX {size:.0f} MiB, export {built.export_s:.0f} s")


def decoder_rows(layout: str, work: Path, runs: int) -> list[Row]:
    used_by, _, build = N.DECODERS[layout]
    built = build(work)
    model = PromptModel(built.encoder, built.decoder, layout, f"{layout} decoder")
    rows = []
    for path in (PHOTO, NUCLEI):
        image = read_image(path)
        h, w = image.shape[:2]
        emb = model.encode(image)
        prompts = [Prompt(points=[(w // 2, h // 2, True)]),
                   Prompt(points=[(w // 3, h // 3, True), (w // 2, h // 2, False), (2 * w // 3, h // 2, True)]),
                   Prompt(box=(w // 4, h // 4, 3 * w // 4, 3 * h // 4), points=[(w // 2, h // 2, True)])]
        k = iter(range(10**9))
        t = time_it(lambda: model.decode(emb, prompts[next(k) % len(prompts)]), runs=runs, warmup=3)
        onnx_only = time_it(lambda: model.decoder.run(None, model.decoder_feed(emb, prompts[1])), runs=runs, warmup=3)
        area = np.mean([m.area for m in model.decode(emb, prompts[1]).masks]) / (h * w)
        rows.append(Row(f"decoder {layout} ({used_by}) per prompt, cached embedding, {w}x{h} "
                        f"({path.parent.parent.name})", ms_text(t), f"p95 < {DECODER_GOAL_MS:.0f} ms",
                        t.p95 < DECODER_GOAL_MS,
                        f"ONNX decoder alone {ms_text(onnx_only)}; rest: feeding it and upscaling the shown "
                        f"candidate (random weights: masks cover {100 * area:.0f}% of the image, a worst case)"))
    return rows


def run(names: list[str], quick: bool) -> tuple[list[Row], dict[str, str]]:
    rows, skipped = [], {}
    with tempfile.TemporaryDirectory(prefix="bench_sam_") as tmp:
        work = Path(tmp)
        for name in names:
            layout = name.removeprefix("decoder-")
            need = N.DECODERS[layout][1] if name.startswith("decoder-") else N.ENCODERS[name][1]
            reason = N.missing(need)
            if reason:
                skipped[name] = reason
                print(f"skipped {name}: {reason}", flush=True)
                continue
            start = time.perf_counter()
            if name.startswith("decoder-"):
                new = decoder_rows(layout, work, runs=20 if quick else 60)
            else:
                new = [encoder_row(name, work, runs=1 if quick else 3)]
            rows += new
            print(f"{name}: {time.perf_counter() - start:.0f} s; " + "; ".join(f"{r.case}: {r.value}" for r in new),
                  flush=True)
    return rows, skipped


def skipped_text(skipped: dict[str, str], full: bool) -> str:
    if not skipped:
        return "Every row of this bench was measured." if full else "Every row asked for " \
            "was measured."
    by_reason: dict[str, list[str]] = {}
    for name, reason in skipped.items():
        by_reason.setdefault(reason, []).append(name)
    return "Not measured in this run: " + "; ".join(f"{', '.join(n)}: {r}" for r, n in by_reason.items()) + \
        f". A run with every row: `{RUN_LINE}`."


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog=f"names: {', '.join(ALL)}. Quick set: {', '.join(QUICK)}.")
    ap.add_argument("--quick", action="store_true", help="fewer runs (encoders once, decoders 20 times) and, "
                    "without --only, only the small encoders; prints only")
    ap.add_argument("--only", default="", help="comma-separated names to run (prints only)")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or (QUICK if args.quick else ALL)
    unknown = [n for n in names if n not in ALL]
    if unknown:
        ap.error(f"unknown name(s) {', '.join(unknown)}; use some of {', '.join(ALL)}.")
    info = machine()
    start = time.perf_counter()
    rows, skipped = run(names, args.quick)
    print(table(rows))
    full = not (args.only or args.quick)
    print(skipped_text(skipped, full))
    if not full:
        print("partial run (--only / --quick): printed, docs/BENCHMARKS.md not changed.")
        return
    import onnxruntime as ort

    body = "\n\n".join([
        machine_line(info), under_load_note(info["load"], info["cores"]), table(rows), skipped_text(skipped, full),
        f"onnxruntime {ort.__version__}, CPUExecutionProvider, all cores. Random weights at the real architecture "
        "sizes (encoder and decoder times do not depend on weight values; mask areas do: random weights give "
        "large masks, so the decoder rows' upscaling part is pessimistic): SAM from segment_anything's classes, "
        "MobileSAM's TinyViT from its authors' code in the [H,W,3] raw-pixel form X-AnyLabeling serves, "
        "EfficientSAM from its authors' code with labelme's export, SAM 2.1 from Meta's sam2 package in osam's "
        "form (bench/sam_networks.py). The catalog's SAM ViT-B/L/H files are labelme's int8 ones; these rows time "
        "float32 exports. SAM ViT-H (632M) is not timed: its float32 export is over ONNX's 2 GB single-file "
        "limit, and it has about twice ViT-L's compute (32 blocks of width 1280 against 24 of 1024). EdgeSAM's "
        "layout is not one Maskwork runs. A decoder row's embedding comes from a one-block (SAM 2.1: "
        "shrunk-trunk) encoder of its family; the decoder is the real one. The encoder runs once per image, in a "
        f"worker, and the next image's in the background. Run: `{RUN_LINE}` "
        f"({time.perf_counter() - start:.0f} s)."])
    update_section("SAM", body)


if __name__ == "__main__":
    main(sys.argv[1:])
