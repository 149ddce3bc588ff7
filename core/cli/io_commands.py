"""CLI commands `import`, `export` and `iou` (see core.formats.project_io and core.formats.compare_files)."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import TextProgress
from maskwork.core.domain.text import plural
from maskwork.core.formats.table import EXPORT_FORMATS, IMPORT_FORMATS
from maskwork.core.store.atomic import save_json_atomic


def cmd_import(args) -> int:
    from maskwork.core.store.project import Project

    # One writer per project (core/store/project_lock.py): refused, exit 2, while a window or another
    # command has it open for writing.
    project = Project.open(args.project, writer="main.py import")
    try:
        return _import_into(project, args)
    finally:
        project.close()  # releases the lock


def _import_into(project, args) -> int:
    from maskwork.core.formats.project_io import import_source
    from maskwork.core.store.import_txn import commit

    source = Path(args.source)
    _print_warnings(project.warnings)
    report = import_source(project, source, getattr(args, "format", None), overwrite=args.overwrite,
                           task=args.task, progress=TextProgress(f"reading {source.name}"))
    commit(project)  # all or nothing on disk, even when killed (core/store/import_txn.py)
    print(f"{report.summary()} into {project.root} ({project.task} project, {plural(len(project.classes), 'class')})")
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def cmd_export(args) -> int:
    try:
        return _export(args)
    except KeyboardInterrupt as exc:  # before the writing (the writer says what it left once it has begun)
        raise exc if str(exc) else KeyboardInterrupt(f"nothing was written to {args.out}") from None


def _export(args) -> int:
    from maskwork.core.formats.export_scope import export_names
    from maskwork.core.formats.project_io import export_project, select_images
    from maskwork.core.formats.table import guess_export_format
    from maskwork.core.store.project import Project

    project = Project.open(args.project)
    _print_warnings(project.warnings)
    if project.lock_holder:  # reading is fine; say that the holder's unsaved work is not in the files
        print(f"warning: {project.lock_holder} has this project open for writing; work it has not saved "
              "is not exported.", file=sys.stderr)
    if not project.has_store:
        raise InputError(f"{project.root} is not a Maskwork project yet (no .maskwork folder); import or "
                         "annotate something first.")
    fmt = args.format or guess_export_format(args.out, project.task)
    names = select_images(project, args.images)
    chosen = export_names(project, names, args.layer, args.only_corrected)
    report = export_project(project, args.out, fmt, chosen, layer=args.layer, include_scores=args.scores,
                            progress=TextProgress("exporting"), only_corrected=False)
    print(f"exported {report.summary()} as {fmt} to {args.out}")
    if len(chosen) < len(names):
        print(f"{plural(len(names) - len(chosen), 'image')} without corrections not written (--all-images "
              "writes them without objects)")
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def _print_warnings(warnings: list[str]) -> None:
    """What Project.open found (an interrupted import finished or undone, damaged journal entries)."""
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)


def _fmt(v) -> str:
    return "  n/a " if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def _print_result(res: dict) -> None:
    print(f"{res['task']} comparison over {res['images']} images")
    if res["task"] == "semantic":
        for name, v in res["per_class_iou"].items():
            print(f"  IoU {name:<24} {_fmt(v)}")
        print(f"  mIoU                         {_fmt(res['mean_iou'])}")
        print(f"  pixel accuracy               {_fmt(res['pixel_accuracy'])}")
        if res.get("ignore_index") is not None:
            print(f"  (pixels of class {res['ignore_index']} in the truth are not counted)")
    else:
        print(f"  truth {res['num_gt']}, predicted {res['num_pred']}, matched {res['matched']} "
              f"(IoU >= {res['iou_threshold']}, score >= {res['score_threshold']})")
        for key in ("panoptic_quality", "precision", "recall", "f1", "mean_matched_iou"):
            print(f"  {key:<28} {_fmt(res[key])}")
        for key in ("AP", "AP50", "AP75"):
            print(f"  mask {key:<23} {_fmt(res['coco'].get(key))}")
    for w in res.get("warnings", []):
        print(f"warning: {w}", file=sys.stderr)


def cmd_iou(args) -> int:
    from maskwork.core.formats.compare_files import compare_paths

    res = compare_paths(args.gt, args.pred, iou_threshold=args.iou_threshold,
                        score_threshold=args.score_threshold, ignore_index=args.ignore_index)
    _print_result(res)
    if args.json:
        save_json_atomic(args.json, json.loads(json.dumps(res, default=float)), indent=1)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("import", help="import COCO JSON, PNG masks, YOLO labels or labelme JSON into a project",
                              description="Import masks into the corrected layer of a project folder. "
                              "Existing corrected work is never replaced without --overwrite.")
    p.add_argument("source", help="COCO instances .json, a folder of PNG masks (label or instance PNGs), a folder "
                   "of YOLO .txt labels (names from data.yaml or classes.txt), or labelme .json file(s)")
    p.add_argument("project", help="project folder (holds the images; created as a project if needed)")
    p.add_argument("--format", choices=IMPORT_FORMATS,
                   help="default: from the source (.json: COCO or labelme; folder: YOLO .txt, labelme .json or PNG)")
    p.add_argument("--overwrite", action="store_true", help="replace existing corrected work")
    p.add_argument("--task", choices=("semantic", "instance"), help="task of a new project (default: from the source)")
    p.set_defaults(func=cmd_import)

    p = subparsers.add_parser("export", help="export a project as COCO JSON or PNG masks",
                              description="Export annotations: COCO (RLE or polygons) to a .json file, "
                              "or PNG label maps / 16-bit instance PNGs to a folder.")
    p.add_argument("project", help="project folder")
    p.add_argument("out", help="output .json file (COCO) or folder (PNG)")
    p.add_argument("--format", choices=EXPORT_FORMATS,
                   help="default: coco-rle for .json, else png (semantic) or instance-png; yolo and labelme write "
                   "a folder")
    p.add_argument("--images", nargs="+", metavar="NAME", help="only these images (names or glob patterns)")
    p.add_argument("--layer", choices=("corrected", "prediction"), default="corrected")
    p.add_argument("--scores", action="store_true", help="write instance scores into COCO annotations")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--only-corrected", dest="only_corrected", action="store_const", const=True,
                       help="only images with corrections (edited, accepted, imported or marked reviewed): the "
                       "default for --layer corrected, as an image written without objects reads 'no objects here'")
    scope.add_argument("--all-images", dest="only_corrected", action="store_const", const=False,
                       help="every image, uncorrected ones written without objects (the default for --layer "
                       "prediction)")
    p.set_defaults(func=cmd_export, only_corrected=None)

    p = subparsers.add_parser("iou", help="score predictions against ground truth (IoU, mIoU, mask AP)",
                              description="Two COCO files (instances: matching stats and COCO mask AP) or "
                              "two folders of PNG label maps (per-class IoU, mIoU, pixel accuracy).")
    p.add_argument("--gt", required=True, help="ground truth: COCO .json or folder of PNG label maps")
    p.add_argument("--pred", required=True, help="prediction: COCO .json (dataset or results list) or PNG folder")
    p.add_argument("--iou-threshold", type=float, default=0.5, help="instance matching IoU (default 0.5)")
    p.add_argument("--score-threshold", type=float, default=0.5, help="instances kept for matching (AP uses all)")
    p.add_argument("--ignore-index", type=int, default=None,
                   help="class id not scored (default: 0 when the classes.json names it unlabeled/void)")
    p.add_argument("--json", help="also write the numbers to this JSON file")
    p.set_defaults(func=cmd_iou)

