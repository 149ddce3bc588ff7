"""ONNX models: `python -m bench.bench_onnx [--quick]` (publishes "ONNX models" in docs/BENCHMARKS.md).

- Overhead of Maskwork's ONNX Runtime path (OnnxPredictor.run: session.run + decoding into an
  InstanceResult at the original resolution) against a bare `session.run` loop on the same letterboxed
  inputs; the YOLO decoding (NMS, masks of every detection above the 0.05 floor) is timed on its own
  so the wrapper's own cost and the post-processing a bare loop does not do are both visible.
- End-to-end latency of the seed's YOLO11n-seg int8 file (read image excluded: prepare + run).
Runs are interleaved (bare, decode, full) per image so machine load hits all three alike.
Needs ../shared/models/yolo11n-seg-quantized.onnx (test data, never copied into the repository).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

from bench.common import (
    DATASETS,
    ROOT,
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

YOLO = ROOT.parent / "shared" / "models" / "yolo11n-seg-quantized.onnx"
GOAL = 0.10  # path overhead over a bare session.run loop


def main() -> int:
    quick = "--quick" in sys.argv
    if not YOLO.is_file():
        print(f"skipped: {YOLO} not found")
        return 0
    os.environ["MASKWORK_CONFIG_DIR"] = tempfile.mkdtemp(prefix="maskwork-bench-onnx-")
    from maskwork.core.images import read_image
    from maskwork.core.models.onnx_models.register import register_onnx
    from maskwork.core.models.onnx_models.yolo import decode
    from maskwork.core.models.predict import Predictor

    info = machine()
    register_onnx(YOLO, name="yolo11n-seg")
    p = Predictor("yolo11n-seg")
    files = sorted((DATASETS / "coco_sample" / "val2017").glob("*.jpg"))[: 4 if quick else 12]
    images = [read_image(f) for f in files]
    prepared = [p.prepare(im) for im in images]
    rounds = 2 if quick else 5
    bare, dec, full = Timing(), Timing(), Timing()
    detections = []
    for _ in range(rounds + 1):  # the first round warms up
        for pr in prepared:
            t0 = time.perf_counter()
            out = p.model.run(list(p.layout.output_names), {p.layout.input_name: pr.tensor})
            t1 = time.perf_counter()
            d = decode(out, pr, len(p.classes) - 1, p.score_floor)
            t2 = time.perf_counter()
            p.run(pr)
            t3 = time.perf_counter()
            if _ > 0:
                bare.samples_ms.append((t1 - t0) * 1000)
                dec.samples_ms.append((t2 - t1) * 1000)
                full.samples_ms.append((t3 - t2) * 1000)
                detections.append(len(d[0]))
    overall = full.median / bare.median - 1
    wrapper = (full.median - dec.median) / bare.median - 1
    e2e = time_it(lambda: p.predict(images[0]), runs=5 if quick else 15)
    rows = [
        Row("bare session.run, letterboxed 320x320 (int8 file)", ms_text(bare), "", None,
            f"{len(prepared)} COCO images x {rounds}"),
        Row("OnnxPredictor.run (session.run + decoding)", ms_text(full), f"<= {GOAL:.0%} over bare",
            overall <= GOAL, f"+{overall:.0%} over bare"),
        Row("  of which YOLO decoding (NMS + masks at image size)", ms_text(dec), "", None,
            f"median {sorted(detections)[len(detections) // 2]} detections >= 0.05 per image"),
        Row("  path overhead without the decoding", f"{wrapper:+.1%}", f"<= {GOAL:.0%}", wrapper <= GOAL,
            "wrapper cost: feeds, result object"),
        Row("predict(image) end to end, 000000005001.jpg 640x427", ms_text(e2e), "", None,
            "letterbox + forward + decoding"),
    ]
    body = "\n\n".join([
        "`python -m bench.bench_onnx` (bench/bench_onnx.py). The seed's Ultralytics YOLO11n-seg int8 ONNX file "
        "registered with `maskwork models add`, run by onnxruntime "
        f"{__import__('onnxruntime').__version__} (CPUExecutionProvider, intra-op threads = cores, spinning off).",
        machine_line(info) + " " + under_load_note(info["load"], info["cores"]),
        table(rows),
        "Reading: the bare loop is the floor any ONNX app pays. The decoding turns every detection above the "
        "0.05 score floor into a mask at the image's resolution, so the score slider re-filters without "
        "another forward pass; its cost grows with the number of detections, not with the image size.",
    ])
    update_section("ONNX models", body)
    print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
