"""CLI for promptable models (SAM family): list, download, register; `segment --tool sam --model ...`.

    python main.py sam-models [--all]                    # name, layout, licence, size, here or not
    python main.py sam-download NAME [--trust] [--accept-licence]
    python main.py sam-register NAME ENCODER.onnx DECODER.onnx [--layout sam|efficientsam|sam2]
    python main.py segment IMG --tool sam --model NAME|ENC.onnx,DEC.onnx --point X,Y,1 --out MASK.png
"""
from __future__ import annotations

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import TextProgress


def add_model_arguments(p) -> None:
    p.add_argument("--model", default=None, metavar="NAME|ENCODER.onnx,DECODER.onnx",
                   help="sam: a promptable model (python main.py sam-models) or an encoder,decoder ONNX pair")
    p.add_argument("--layout", default=None, help="sam with your own ONNX pair: sam (default), efficientsam, sam2")
    p.add_argument("--trust", action="store_true", help="sam: download a model whose publisher gives no sha256")
    p.add_argument("--accept-licence", action="store_true",
                   help="sam: fetch a model whose licence forbids commercial use (EdgeSAM)")


def choose_model(args):
    from maskwork.core.interactive.sam.tool import choose

    if not args.model:
        raise InputError("--tool sam needs --model NAME (see `python main.py sam-models`) or "
                         "--model ENCODER.onnx,DECODER.onnx.")
    if args.tool != "sam":
        raise InputError(f"--model is for --tool sam; the {args.tool} tool needs no weights.")
    return choose(args.model, TextProgress("download"), layout=args.layout, trust=args.trust,
                  accept_licence=args.accept_licence)


def cmd_sam_models(args) -> int:
    from maskwork.core.interactive.sam import catalog

    rows = [("name", "model", "layout", "licence", "params", "sha256", "state")]
    for s in catalog.all_specs(include_noncommercial=args.all):
        sha = "yours" if s.local else ("published" if s.verified else "none (--trust)")
        rows.append((s.name, s.family, s.layout, s.licence, s.params, sha, catalog.state(s)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    if not args.all:
        print("(models that may not be used commercially are hidden; --all lists them)")
    print(f"files: {catalog.cache_dir()}/<name>/; your pairs: {catalog.registry_file()}")
    return 0


def cmd_sam_download(args) -> int:
    from maskwork.core.interactive.sam import catalog

    spec = catalog.get_spec(args.name)
    enc, dec = catalog.fetch(spec, TextProgress(spec.name), trust=args.trust, allow_download=True,
                             accept_licence=args.accept_licence)
    print(f"{spec.name}: {enc}\n{' ' * len(spec.name)}  {dec}")
    return 0


def cmd_sam_register(args) -> int:
    from maskwork.core.interactive.sam import catalog

    spec = catalog.register(args.name, args.encoder, args.decoder, args.layout)
    catalog.open_model(spec)  # refuse a pair that does not load in its layout now, not at first click
    print(f"registered {spec.name} ({spec.layout}): use --model {spec.name}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("sam-models", help="list promptable models (SAM family): licence, size, state")
    p.add_argument("--all", action="store_true", help="also models that may not be used commercially")
    p.set_defaults(func=cmd_sam_models)
    p = subparsers.add_parser("sam-download", help="download a promptable model now (resumes an interrupted one)")
    p.add_argument("name")
    p.add_argument("--trust", action="store_true", help="allow a model whose publisher gives no sha256")
    p.add_argument("--accept-licence", action="store_true", help="allow a non-commercial licence (EdgeSAM)")
    p.set_defaults(func=cmd_sam_download)
    p = subparsers.add_parser("sam-register", help="use a local ONNX encoder + decoder pair (offline machines)")
    p.add_argument("name")
    p.add_argument("encoder")
    p.add_argument("decoder")
    p.add_argument("--layout", default="sam", help="sam (default: SAM, MobileSAM), efficientsam, sam2")
    p.set_defaults(func=cmd_sam_register)
