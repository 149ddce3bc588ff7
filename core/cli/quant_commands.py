"""`quantize` and `export-model` commands.

    maskwork quantize --model NAME [--calibration DIR] [--images N] [--cache-dir DIR]
    maskwork export-model MODEL --format onnx [--int8] --out PATH [--calibration DIR] [--opset 17]

`quantize` builds (or finds in the cache) the int8 model and prints float vs int8 latency, size and
agreement on one real image. `export-model` writes MODEL.onnx + MODEL.classes.json and checks the
file in onnxruntime against the torch model.
"""
from __future__ import annotations

import sys

from maskwork.core.domain.progress import TextProgress


def register(subparsers) -> None:
    p = subparsers.add_parser("quantize", help="build the int8 model (cached) and compare it with float")
    p.add_argument("--model", required=True, help="model name (see `maskwork models`)")
    p.add_argument("--calibration", metavar="DIR",
                   help="folder of images like the ones you will segment (default: bundled samples)")
    p.add_argument("--images", type=int, default=16, metavar="N", help="calibration images to use (1-64)")
    p.add_argument("--cache-dir", help="where int8 models are kept (default: ~/.cache/maskwork/int8, "
                                       "or $MASKWORK_CACHE_DIR/int8)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per model (median is shown)")
    p.add_argument("--rebuild", action="store_true", help="ignore a cached int8 model and calibrate again")
    p.set_defaults(func=cmd_quantize)

    p = subparsers.add_parser("export-model", help="export a model to ONNX (float or int8), checked in onnxruntime")
    p.add_argument("model", help="model name (see `maskwork models`)")
    p.add_argument("--format", choices=["onnx"], default="onnx")
    p.add_argument("--int8", action="store_true", help="int8 ONNX (onnxruntime static quantization)")
    p.add_argument("--out", required=True, help="output .onnx file; the classes JSON is written beside it")
    p.add_argument("--calibration", metavar="DIR", help="images to calibrate int8 and check the export")
    p.add_argument("--opset", type=int, default=17)
    p.set_defaults(func=cmd_export)


def _first_image(items):
    from maskwork.core.models.int8.quant import calibration

    return calibration.load(items[0], str(items[0]))


def cmd_quantize(args) -> int:
    from maskwork.core.models.compare import compare
    from maskwork.core.models.int8.dispatch import int8_of, refuse_quantize
    from maskwork.core.models.int8.quant import calibration
    from maskwork.core.models.predict import Predictor

    fp = Predictor(args.model, device="cpu", progress=TextProgress("weights"))
    refuse_quantize(fp.spec)
    items = calibration.resolve(args.calibration, args.images, fp.spec.name)
    qp = int8_of(fp, args.calibration, cache_dir=args.cache_dir, progress=TextProgress("calibration"),
                 num_images=args.images, use_cache=not args.rebuild)
    info = qp.int8_info
    if info.get("paired"):
        where = f"no calibration: paired int8 file {info['cache_path']}"
    else:
        where = "loaded from cache" if info["from_cache"] else f"calibrated on {info['calibration_images']} images"
        where += f"; cache file {info['cache_path']}"
    print(f"{fp.spec.name}: int8 route {info['route']}, {where}")
    if "cache_error" in info:
        print(f"maskwork quantize: warning: {info['cache_error']}", file=sys.stderr)
    c = compare((fp, qp), _first_image(items), repeats=max(1, args.repeats))
    print(f"compared on {items[0] if not hasattr(items[0], 'shape') else 'the first calibration image'}:")
    print("  " + c.summary())
    if c.task == "instance":
        print(f"  instances: float {c.extra['float_instances']}, int8 {c.extra['int8_instances']}, "
              f"F1 {c.extra['f1']:.3f}")
    else:
        names = {cl.id: cl.name for cl in fp.spec.classes}
        shown = [f"{names.get(k, k)} {v * 100:.1f}" for k, v in (c.per_class or {}).items() if v == v]
        print("  IoU per class (%): " + ", ".join(shown))
    return 0


def cmd_export(args) -> int:
    from maskwork.core.models.torch_models.export import export_onnx

    report = export_onnx(args.model, args.out, int8=args.int8, opset=args.opset, images=args.calibration,
                         progress=TextProgress("export"))
    print(report.summary())
    return 0
