"""ONNX models: `python -m bench.bench_onnx [--quick]` (publishes "ONNX models" in docs/BENCHMARKS.md).

- Overhead of Maskwork's ONNX Runtime path (OnnxPredictor.run: session.run + decoding into an
  InstanceResult at the original resolution) against a bare `session.run` loop on the same letterboxed
  inputs, at the GUI's default score threshold (0.5): masks are decoded for the detections at or above
  it, the others (down to the 0.05 floor) wait until the threshold comes down to them (LazyMasks). The
  YOLO decoding is also timed on its own, so the wrapper's own cost and the post-processing a bare loop
  does not do are both visible.
- What decoding everything down to the floor costs: a run at threshold 0 (every mask at once, as
  evaluate asks) and the slider dragged from 0.5 to the floor after a run (keep(0.05) on its result).
- End-to-end latency of the seed's YOLO11n-seg int8 file (read image excluded: prepare + run).
Runs are interleaved (bare, decode, run at 0.5, run at 0) per image so machine load hits all alike.
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
SHOWN = 0.5  # the GUI's default score threshold (gui/state.py) and OnnxPredictor.run's


def main() -> int:
    quick = "--quick" in sys.argv
    if not YOLO.is_file():
        print(f"skipped: {YOLO} not found")
        return 0
    os.environ["MASKWORK_CONFIG_DIR"] = tempfile.mkdtemp(prefix="maskwork-bench-onnx-")
    from maskwork.core.models.onnx_models.register import register_onnx
    from maskwork.core.models.onnx_models.yolo import decode
    from maskwork.core.models.predict import Predictor
    from maskwork.core.store.images import read_image

    info = machine()
    register_onnx(YOLO, name="yolo11n-seg")
    p = Predictor("yolo11n-seg")
    files = sorted((DATASETS / "coco_sample" / "val2017").glob("*.jpg"))[: 4 if quick else 12]
    images = [read_image(f) for f in files]
    prepared = [p.prepare(im) for im in images]
    rounds = 2 if quick else 5
    bare, dec, full, every, slider = Timing(), Timing(), Timing(), Timing(), Timing()
    shown, floor = [], []
    for r in range(rounds + 1):  # the first round warms up
        for pr in prepared:
            t0 = time.perf_counter()
            out = p.model.run(list(p.layout.output_names), {p.layout.input_name: pr.tensor})
            t1 = time.perf_counter()
            decode(out, pr, len(p.classes) - 1, p.score_floor, eager=SHOWN)
            t2 = time.perf_counter()
            res = p.run(pr, SHOWN)
            t3 = time.perf_counter()
            p.run(pr, 0.0)
            t4 = time.perf_counter()
            res.keep(p.score_floor)  # the slider down to the floor: decodes the masks that waited
            t5 = time.perf_counter()
            if r > 0:
                for t, (a, b) in zip((bare, dec, full, every, slider), ((t0, t1), (t1, t2), (t2, t3), (t3, t4),
                                                                         (t4, t5))):
                    t.samples_ms.append((b - a) * 1000)
                shown.append(len(res.keep(SHOWN)))
                floor.append(len(res))
    overall = full.median / bare.median - 1
    wrapper = (full.median - dec.median) / bare.median - 1
    everything = every.median / bare.median - 1
    e2e = time_it(lambda: p.predict(images[0]), runs=5 if quick else 15)
    rows = [
        Row("bare session.run, letterboxed 320x320 (int8 file)", ms_text(bare), "", None,
            f"{len(prepared)} COCO images x {rounds}"),
        Row(f"OnnxPredictor.run at threshold {SHOWN} (GUI default)", ms_text(full), f"<= {GOAL:.0%} over bare",
            overall <= GOAL, f"{overall:+.0%} over bare"),
        Row(f"  of which YOLO decoding (NMS + masks >= {SHOWN})", ms_text(dec), "", None,
            f"median {_median(shown)} masks decoded of {_median(floor)} detections >= {p.score_floor}"),
        Row("  path overhead without the decoding", f"{wrapper:+.1%}", f"<= {GOAL:.0%}", wrapper <= GOAL,
            "wrapper cost: feeds, result object"),
        Row("OnnxPredictor.run at threshold 0 (every mask to the floor)", ms_text(every), "", None,
            f"{everything:+.0%} over bare; what evaluate runs"),
        Row(f"slider from {SHOWN} to the floor after a run", ms_text(slider), "", None,
            "keep(0.05): decodes the masks that waited"),
        Row("predict(image) end to end, 000000005001.jpg 640x427", ms_text(e2e), "", None,
            f"letterbox + forward + decoding at {SHOWN}"),
    ]
    body = "\n\n".join([
        "`python -m bench.bench_onnx` (bench/bench_onnx.py). The seed's Ultralytics YOLO11n-seg int8 ONNX file "
        "registered with `maskwork models add`, run by onnxruntime "
        f"{__import__('onnxruntime').__version__} (CPUExecutionProvider, intra-op threads = cores, spinning off).",
        machine_line(info) + " " + under_load_note(info["load"], info["cores"]),
        table(rows),
        "Reading: the bare loop is the floor any ONNX app pays. The result keeps every detection above the "
        "0.05 score floor so the score slider re-filters without another forward pass, but only the masks "
        "shown are decoded at once; the others keep the few prototype logits their box reads and are "
        "decoded, at the image's resolution, when the threshold comes down to them. A mask costs its box's "
        "size, not the image's or the prototype grid's.",
    ])
    update_section("ONNX models", body)
    print(body)
    return 0


def _median(values: list[int]) -> int:
    return sorted(values)[len(values) // 2]


if __name__ == "__main__":
    raise SystemExit(main())
