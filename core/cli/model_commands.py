"""`models`, `register-model` and `predict` commands.

    maskwork models
    maskwork register-model CHECKPOINT [--arch ARCH] [--name NAME] [--classes a,b,c]
    maskwork predict --model NAME [--int8] [--score-threshold T] IMAGE_OR_DIR... --out OUT
    maskwork predict --model NAME --project FOLDER [IMAGE...] [--unknown-classes ignore|add]
    maskwork predict ... --refine {none,edges,sam} [--sam-model NAME]   (core/cli/predict_refine.py)

Instance models write one COCO JSON (RLE masks with scores); semantic models write one palette
PNG label map per image (class colours in the palette).
"""
from __future__ import annotations

import sys
from pathlib import Path

from maskwork.core.cli.predict_refine import add_refine_flags, refiner
from maskwork.core.domain.annotation import Layer, PredictionInfo
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken, TextProgress


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="list the models (`models add FILE` registers one, as register-model)")
    p.add_argument("action", nargs="?", choices=["list", "add"], default="list")
    p.add_argument("checkpoint", nargs="?", help="with `add`: the model file")
    _register_flags(p)
    p.set_defaults(func=cmd_models)

    p = subparsers.add_parser("register-model", help="add a trained checkpoint or an ONNX file to your models")
    p.add_argument("checkpoint", help="a .pt file saved by Maskwork, a torchvision state dict, or an .onnx file")
    _register_flags(p)
    p.set_defaults(func=cmd_register)

    p = subparsers.add_parser("predict", help="run a model on images; COCO JSON (instances) or label PNGs")
    p.add_argument("inputs", nargs="*", metavar="IMAGE_OR_DIR",
                   help="image files or folders of images (with --project: images of the project, default all)")
    p.add_argument("--model", required=True, help="model name (see `maskwork models`)")
    p.add_argument("--out", help="output folder (or a .json file for instance models)")
    p.add_argument("--project", help="store the results as the prediction layers of this project (its class ids)")
    p.add_argument("--unknown-classes", choices=("ignore", "add"), default="ignore",
                   help="with --project: model classes the project lacks are ignored (default) or added to it")
    p.add_argument("--int8", action="store_true", help="use the int8-quantized model (CPU)")
    p.add_argument("--score-threshold", type=float, default=0.5, help="keep objects scoring at least this")
    p.add_argument("--mask-threshold", type=float, default=0.5, help="soft-mask cut for instance masks")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    add_refine_flags(p)
    _engine_flags(p)
    p.set_defaults(func=cmd_predict)


def _register_flags(p) -> None:
    p.add_argument("--arch", help="architecture of a plain state dict (see `maskwork models`)")
    p.add_argument("--name", help="name to list it under (default: the file name)")
    p.add_argument("--classes", help="class names of a plain state dict or a semantic ONNX net, comma separated, "
                                     "background first")
    onnx = p.add_argument_group("semantic ONNX nets without metadata (or a JSON sidecar NAME.json beside the file)")
    onnx.add_argument("--resize", type=int, help="feed the image with its shorter side scaled to this many pixels")
    onnx.add_argument("--tile", type=int, help="feed the image in windows of this many pixels")
    onnx.add_argument("--mean", help="per-channel mean on 0..1 pixels, R,G,B (default ImageNet's)")
    onnx.add_argument("--std", help="per-channel std on 0..1 pixels, R,G,B (default ImageNet's)")


def cmd_models(args) -> int:
    from maskwork.core.models.catalog.registry import all_models
    from maskwork.core.models.int8.dispatch import label

    if args.action == "add":
        if not args.checkpoint:
            raise InputError("models add: give the model file (a Maskwork .pt checkpoint or an .onnx file).")
        return cmd_register(args)
    from maskwork.core.models.catalog.weights import model_state

    rows = [("NAME", "TASK", "ARCH", "CLASSES", "STATE")]
    for spec in all_models():
        names = [c.name for c in spec.classes if c.id != 0]
        shown = ", ".join(names[:4]) + (f", ... ({len(names)})" if len(names) > 4 else "")
        precision = label(spec)  # paired ONNX files list as one model: "float + int8"
        arch = f"{spec.arch} ({precision})" if precision else spec.arch
        rows.append((spec.name, spec.task, arch, shown, model_state(spec)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)) + "  " + r[4])
    from maskwork.core.models.catalog.user_models import skipped_entries

    for why in skipped_entries():  # damaged entries of models.json: listed, never fatal
        print(why, file=sys.stderr)
    return 0


def cmd_register(args) -> int:
    from maskwork.core.models.catalog.user_models import models_file, register_checkpoint

    if Path(args.checkpoint).suffix.lower() == ".onnx":
        from maskwork.core.models.onnx_models.register import register_onnx, user_input

        user = user_input(args.classes, args.resize, args.tile, args.mean, args.std)
        spec = register_onnx(args.checkpoint, name=args.name, user=user)
        from maskwork.core.models.int8.dispatch import label
        from maskwork.core.models.onnx_models.layouts import onnx_source

        _source, layout = onnx_source(spec)
        precision = label(spec) or "float"
        print(f"registered {spec.name} ({spec.task}, ONNX {layout.kind}, {precision}, "
              f"{len(spec.classes)} classes, input {spec.input.describe()}) in {models_file()}")
        return 0
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    spec = register_checkpoint(args.checkpoint, arch=args.arch, name=args.name, classes=classes)
    print(f"registered {spec.name} ({spec.task}, {spec.arch}, {len(spec.classes)} classes) in {models_file()}")
    return 0


def _engine_flags(p) -> None:
    from maskwork.core.cluster.options import add_engine_flags  # argparse only: Ray is imported when used

    add_engine_flags(p)


def cmd_predict(args) -> int:
    from maskwork.core.cli.image_inputs import image_files
    from maskwork.core.cluster.options import refuse_ray_flags_without_ray
    from maskwork.core.models.batch import predict_batch
    from maskwork.core.models.int8.dispatch import load

    refuse_ray_flags_without_ray(args)
    refine = refiner(args)  # refused with --engine ray; opens the SAM model before any image is read
    if args.engine == "ray":
        from maskwork.core.cluster.predict_job import predict_on_ray

        return predict_on_ray(args)
    if getattr(args, "project", None):
        from maskwork.core.cli.predict_project import predict_into_project

        return predict_into_project(args, refine)
    if not args.out or not args.inputs:
        raise InputError("predict needs images and --out (files), or --project FOLDER (prediction layers).")
    files = image_files(args.inputs)
    if not 0.0 <= args.score_threshold <= 1.0:
        raise InputError(f"--score-threshold {args.score_threshold} is outside 0..1")
    # int8 ranges from the images being segmented (the model's own int8 file when it has one)
    predictor = load(args.model, args.int8, [p for p, _ in files], args.device, TextProgress("weights"))
    names = {path: name for path, name in files}
    out = Path(args.out)
    errors: list = []
    batch = predict_batch(predictor, [p for p, _ in files], TextProgress(args.model), CancelToken(),
                          args.score_threshold, args.mask_threshold, errors=errors)
    info = PredictionInfo(predictor.spec.name, bool(predictor.int8), None, args.score_threshold)
    if predictor.task == "instance":
        written = _write_coco(batch, names, out, predictor, info, refine)
    else:
        written = _write_pngs(batch, names, out, predictor, refine)
    for path, message in errors:
        print(f"skipped {path}: {message}", file=sys.stderr)
    print(f"wrote {written}")
    return 1 if errors else 0


def _write_coco(batch, names: dict, out: Path, predictor, info: PredictionInfo, refine=None) -> Path:
    from maskwork.core.formats.prediction_files import coco_target, predicted_annotation, write_coco

    target = coco_target(out)
    anns = []
    for path, result in batch:
        ann = predicted_annotation(names[path], result, info)
        if refine is not None:
            ann.prediction = refine(str(path), ann.prediction)
        anns.append(ann)
    write_coco(target, anns, predictor.classes, info)
    return target


def _write_pngs(batch, names: dict, out: Path, predictor, refine=None) -> Path:
    from maskwork.core.formats.png import write_classes_json, write_label_png
    from maskwork.core.formats.prediction_files import unique_stem
    from maskwork.core.store.staged_folder import StagedFolder

    used: set[str] = set()
    with StagedFolder(out) as staged:  # all or nothing: an error or Ctrl-C leaves `out` as it was
        for path, result in batch:
            target = staged.path(out / f"{unique_stem(names[path], used)}.png")
            label_map = result.label_map
            if refine is not None:  # --refine edges: region borders onto the image's edges (core/refine)
                label_map = refine(str(path), Layer(label_map=label_map)).label_map
            write_label_png(target, label_map, predictor.classes)
        write_classes_json(staged.path(out / "classes.json"), predictor.classes)
    return out
