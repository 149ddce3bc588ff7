"""ONNX Runtime int8 vs float: `python -m bench.bench_onnx_int8 [--runs N] [--variants] [--no-publish]`.

The bundled aerial model is exported by export-model (float ONNX, self-described), its int8 twin built
by core.models.int8.onnx_quant.int8_onnx on 16 aerial images spread over the folder (the project's images),
then both run in onnxruntime exactly as the torch predictor runs the model (preprocessing, scale 0.5,
tiling, resize back) on every aerial image: mean IoU against the true masks (core.metrics, class 0
'unlabeled' not scored), agreement with float and with the torch model, file sizes, and latency
(median of N interleaved float/int8 runs per image after a warm-up, end to end and the bare
session.run). The seed's int8 YOLO file is timed as shipped (its float original is not available).
`--variants` also compares calibrations (MinMax / Entropy / Percentile, nodes kept float) for ADR 0009.
Publishes the "ONNX int8" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import DATASETS, machine, machine_line, under_load_note, update_section
from maskwork.core.metrics import accumulate
from maskwork.core.models.int8.onnx_quant import QuantSettings, int8_onnx
from maskwork.core.models.int8.onnx_quant_report import OnnxSemantic, session
from maskwork.core.models.int8.precision import is_int8
from maskwork.core.models.torch_models.export import export_onnx
from maskwork.core.models.torch_models.preprocess import prepare
from maskwork.core.store.images import read_image
from maskwork.core.training.datasets import from_png_folder

AERIAL = DATASETS / "aerial"
SEED_YOLO = DATASETS.parent / "models" / "yolo11n-seg-quantized.onnx"
VARIANTS = {  # name -> settings (ADR 0009)
    "MinMax, ConvTranspose float (default)": QuantSettings(),
    "MinMax, everything int8": QuantSettings(float_ops=()),
    "MinMax, + last conv float": QuantSettings(keep_head_float=True),
    "Entropy": QuantSettings(method="entropy"),
    "Percentile 99.999": QuantSettings(method="percentile"),
}


def _evaluate(models: dict, data, runs: int) -> dict:
    """Per model: label maps of every image, interleaved latencies (end to end and bare forward)."""
    out = {k: {"pred": [], "e2e": [], "fwd": []} for k in models}
    for n, item in enumerate(data.items):
        rgb = item.image()
        x = prepare(rgb, "semantic", next(iter(models.values())).policy).tensor[None].numpy()
        for name, m in models.items():  # warm-up; its labels are the result
            out[name]["pred"].append(m.predict(rgb).label_map)
        for _ in range(runs if n < 8 else 0):  # latency on the first 8 images, interleaved
            for name, m in models.items():
                t = time.perf_counter()
                m.predict(rgb)
                out[name]["e2e"].append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                m.forward.session.run(None, {m.forward.input: x})
                out[name]["fwd"].append((time.perf_counter() - t) * 1000)
    return out


def _miou(data, preds, only: str = ""):
    pairs = [(it.label_map(), p) for it, p in zip(data.items, preds) if it.name.startswith(only)]
    return accumulate(pairs, data.classes.ids(), ignore_index=data.ignore_index,
                      num_classes=max(data.classes.ids()) + 1).mean_iou


def _agree(a: list, b: list) -> float:
    return float(sum((x == y).sum() for x, y in zip(a, b)) / sum(x.size for x in a))


def _torch_labels(data) -> list:
    from maskwork.core.models.predict import Predictor

    p = Predictor("aerial-landcover", device="cpu")
    return [p.predict(it.image()).label_map for it in data.items]


def _yolo(runs: int) -> str:
    if not SEED_YOLO.is_file():
        return f"Seed YOLO file not found at {SEED_YOLO}: not measured."
    s = session(SEED_YOLO)
    rgb = read_image(sorted((DATASETS / "coco_sample" / "val2017").glob("*.jpg"))[0])
    import cv2

    x = (cv2.resize(rgb, (320, 320)).transpose(2, 0, 1)[None] / 255.0).astype(np.float32)
    name = s.get_inputs()[0].name
    s.run(None, {name: x})
    times = []
    for _ in range(max(5, runs * 3)):
        t = time.perf_counter()
        s.run(None, {name: x})
        times.append((time.perf_counter() - t) * 1000)
    mb = SEED_YOLO.stat().st_size / 1e6
    return (f"Seed `yolo11n-seg-quantized.onnx` (int8 as shipped; is_int8: {is_int8(SEED_YOLO)}): {mb:.1f} MB, "
            f"session.run at 320x320 median {statistics.median(times):.1f} ms (n={len(times)}). Its float original "
            "is not available here, so no float latency or size ratio can be given for it.")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--variants", action="store_true", help="also compare calibration methods (slow)")
    ap.add_argument("--no-publish", action="store_true")
    args = ap.parse_args(argv)
    info = machine()
    threads = int(os.environ.get("MASKWORK_THREADS") or os.cpu_count() or 1)
    data = from_png_folder(AERIAL)
    calib = sorted((AERIAL / "images").glob("*.jpg"))
    with tempfile.TemporaryDirectory() as tmp:
        fpath = Path(tmp) / "aerial-landcover.onnx"
        export_onnx("aerial-landcover", fpath, images=calib[:1])
        variants = VARIANTS if args.variants else dict(list(VARIANTS.items())[:1])
        twins, build_s = {}, {}
        for name, settings in variants.items():
            t = time.perf_counter()
            twins[name] = int8_onnx(fpath, AERIAL / "images", settings=settings, num_images=16,
                                    cache_dir=Path(tmp) / "cache").path
            build_s[name] = time.perf_counter() - t
        models = {"float": OnnxSemantic(fpath)} | {k: OnnxSemantic(p) for k, p in twins.items()}
        res = _evaluate(models, data, args.runs)
        torch_labels = _torch_labels(data)
        f = res["float"]
        fsize = fpath.stat().st_size
        rows = ["| model | file | mIoU all 63 | mIoU tile 7 (held out) | same labels as float | forward median | "
                "end to end median | build |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, r in res.items():
            size = models[name].size_bytes
            rows.append(f"| {name if name == 'float' else 'int8: ' + name} | {size / 1e6:.2f} MB"
                        f"{'' if name == 'float' else f' (x{size / fsize:.2f})'} | {_miou(data, r['pred']):.4f} | "
                        f"{_miou(data, r['pred'], 'tile7_'):.4f} | {_agree(f['pred'], r['pred']) * 100:.2f}% | "
                        f"{statistics.median(r['fwd']):.0f} ms | {statistics.median(r['e2e']):.0f} ms | "
                        f"{'' if name == 'float' else f'{build_s[name]:.0f} s'} |")
        default = list(variants)[0]
        q = res[default]
        speed = statistics.median(f["fwd"]) / statistics.median(q["fwd"])
        delta = (_miou(data, q["pred"]) - _miou(data, f["pred"])) * 100
        torch_agree = _agree(torch_labels, f["pred"])
        per_image_min = min(float((a == b).mean()) for a, b in zip(torch_labels, f["pred"]))
    text = "\n".join([
        "`python -m bench.bench_onnx_int8" + (" --variants" if args.variants else "") + "` (bench/bench_onnx_int8.py). "
        + machine_line(info) + f" onnxruntime CPU, {threads} intra-op threads. "
        + under_load_note(info["load"], info["cores"]) + ".", "",
        f"Bundled aerial-landcover (unet_small) exported by export-model, int8 twin by `int8_onnx` (QDQ, "
        f"per-channel int8 weights, uint8 activations) calibrated on 16 of the 63 aerial images; all 63 "
        f"evaluated against their true masks (class 0 not scored). Latency: {args.runs} interleaved runs on "
        f"each of 8 images (about 550x420 after the model's scale 0.5, one pass), median.", "",
        *rows, "",
        f"Default int8 vs float: forward x{speed:.2f} ({'faster' if speed > 1 else 'NOT faster'}), "
        f"mIoU {delta:+.2f} points (goal: within 1 point: {'met' if abs(delta) <= 1 else 'NOT met'}). "
        f"ONNX float vs the torch model: {torch_agree * 100:.3f}% same labels over all 63 images "
        f"(lowest image {per_image_min * 100:.3f}%; goal >= 99.9%).", "",
        _yolo(args.runs),
    ])
    print(text)
    if not args.no_publish:
        update_section("ONNX int8", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
