"""`maskwork compare`: two models over a whole dataset, which is better where.

    maskwork compare --a nuclei-instance --int8 --data nuclei/val.json            # float vs its int8 twin
    maskwork compare --a nuclei-semantic --b my-finetuned.pt --data project/ --report cmp.html
    maskwork compare --a aerial-landcover --b other.pt --data aerial/ --sort difference --json
    maskwork compare --a nuclei-instance --int8 --data nuclei/val.json --engine ray --address auto  # on Ray
"""
from __future__ import annotations

import json
import sys

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken, TextProgress


def register(subparsers) -> None:
    p = subparsers.add_parser("compare", help="compare two models over a dataset: per-image scores, where they "
                                              "disagree, is B better or is it noise")
    p.add_argument("--a", required=True, help="model A: registry name or checkpoint file")
    p.add_argument("--b", help="model B (default with --int8: A's int8 twin)")
    p.add_argument("--int8", action="store_true", help="B is A's int8 twin (float vs int8)")
    p.add_argument("--int8-b", action="store_true", help="run model B as int8")
    p.add_argument("--data", required=True, help="Maskwork project (corrected images are the truth), COCO .json, "
                                                 "folder with images/ and masks/, or a folder of images (no truth)")
    p.add_argument("--calibration", metavar="DIR", help="int8: calibrate on these images (default: 16 compared ones)")
    p.add_argument("--sort", choices=("disagreement", "difference", "name"), default="disagreement",
                   help="disagreement: where A and B differ most (the images to correct first); difference: where "
                        "B loses most to A")
    p.add_argument("--limit", type=int, help="list only the first N images")
    p.add_argument("--max-images", type=int)
    p.add_argument("--device", default=None)
    p.add_argument("--no-cache", action="store_true", help="predict every image again (default: reuse "
                                                            "predictions of the same model on the same pixels)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("--report", metavar="FILE.html", help="write an HTML report with thumbnails (opens offline)")
    from maskwork.core.cluster.options import add_engine_flags  # argparse only: Ray is imported when used

    add_engine_flags(p)
    p.set_defaults(func=cmd_compare)


def cmd_compare(args) -> int:
    from pathlib import Path

    from maskwork.core.cluster.options import refuse_ray_flags_without_ray
    from maskwork.core.comparison.compare import compare_models
    from maskwork.core.comparison.scores import as_dict, format_text

    refuse_ray_flags_without_ray(args)

    if args.int8 and args.b and args.b != args.a:
        raise InputError("--int8 compares A with its own int8 twin: leave out --b, or use --int8-b to run B as int8")
    if not args.int8 and not args.b:
        raise InputError("give model B with --b, or --int8 to compare A with its int8 twin")
    if args.max_images is not None and args.max_images < 1:
        raise InputError(f"--max-images {args.max_images}: give 1 or more (leave it out to compare every image)")
    if args.report and Path(args.report).suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--report {args.report}: give a file name ending in .html")
    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit {args.limit}: give 1 or more (leave it out to list every image)")
    runner, device = None, args.device
    if args.engine == "ray":
        from maskwork.core.cluster.compare_job import ray_runner

        runner, device = ray_runner(args), "cpu"  # the models are loaded here only to be shipped to the workers
    b = args.a if args.int8 else args.b
    result, evaluations, predictions = compare_models(
        args.a, b, args.data, int8_b=args.int8 or args.int8_b, calibration=args.calibration,
        cache_dir=None if args.no_cache else "default", progress=TextProgress("compare"), cancel=CancelToken(),
        max_images=args.max_images, device=device, runner=runner)
    if args.report:
        from maskwork.core.comparison.report import render_html
        from maskwork.core.store.atomic import write_bytes_atomic

        write_bytes_atomic(args.report, render_html(result, evaluations, predictions, args.sort).encode())
        print(f"report written to {args.report}", file=sys.stderr)
    if args.json:
        print(json.dumps(as_dict(result, args.sort), indent=1, default=str))
    else:
        print(format_text(result, args.sort, args.limit))
    return 0
