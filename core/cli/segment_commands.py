"""CLI command `segment`: one interactive tool on one image, headless (core.interactive).

    python main.py segment IMAGE --tool grabcut --box 10,20,200,300 [--point X,Y,1|0 ...] --out MASK.png
    python main.py segment IMAGE --tool fix --mask START.png --point X,Y,1 [--point X,Y,0 ...] --out MASK.png

Writes a single-channel PNG of the image's size: 0 = background, 255 = object. The tool choices
come from core.interactive.TOOLS, so a tool added to that table is a choice here too.
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

from maskwork.core.domain.errors import InputError


def _ints(text: str, count: int, what: str, example: str) -> list[int]:
    parts = text.split(",")
    try:
        values = [int(round(float(p))) for p in parts]
    except ValueError:
        values = []
    if len(values) != count:
        raise argparse.ArgumentTypeError(f"{what} '{text}' needs {count} comma-separated numbers, e.g. {example}")
    return values


def parse_box(text: str) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = _ints(text, 4, "box", "10,20,200,300 (x0,y0,x1,y1)")
    return x0, y0, x1, y1


def parse_point(text: str) -> tuple[int, int, bool]:
    x, y, label = _ints(text, 3, "point", "120,80,1 (x,y,1 for object or 0 for background)")
    if label not in (0, 1):
        raise argparse.ArgumentTypeError(f"point '{text}': the third number is {label}; use 1 (object) or 0 "
                                         "(background)")
    return x, y, bool(label)


def cmd_segment(args) -> int:
    import numpy as np
    from PIL import Image

    from maskwork.core.interactive import TOOLS, Prompt, segment
    from maskwork.core.store.atomic import write_bytes_atomic
    from maskwork.core.store.images import read_image

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise InputError(f"--out {out} must end in .png: the mask is written as a PNG.")
    if args.mask and "mask" not in TOOLS[args.tool].needs:
        raise InputError(f"--mask is the mask the fix tool corrects; the {args.tool} tool does not read it: use "
                         "--tool fix, or leave --mask out.")
    image = read_image(args.image)
    if args.tool == "sam" or args.model:  # a promptable model: core/interactive/sam (sam_commands.py)
        from maskwork.core.cli.sam_commands import choose_model

        choose_model(args)
    prompt = Prompt(box=args.box, points=list(args.point), tolerance=args.tolerance,
                    mask=_start_mask(args.mask) if args.mask else None)
    mask = segment(args.tool, image, prompt)
    pixels = np.where(mask.to_full(), 255, 0).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    write_bytes_atomic(out, buffer.getvalue())
    h, w = pixels.shape
    print(f"{args.tool}: {mask.area} object pixels ({100.0 * mask.area / (w * h):.2f}% of {w}x{h}) -> {out}")
    return 0


def _start_mask(path: str):
    """The mask to fix: object = every non-zero pixel of a PNG (what `segment --out` writes, or a colour mask)."""
    from maskwork.core.domain.masks import Mask
    from maskwork.core.formats.png import read_object_png

    pixels = read_object_png(path)
    if not pixels.any():
        raise InputError(f"--mask {path} has no object pixels (all zero); give the mask of the object to fix.")
    return Mask.from_full(pixels)


def register(subparsers) -> None:
    from maskwork.core.interactive import TOOLS

    p = subparsers.add_parser(
        "segment", help="segment one object from a box, clicks or a tolerance (interactive tools, headless)",
        description="Run an interactive tool once and write its mask as a single-channel PNG of the image's "
        "size (0 = background, 255 = object). Box: x0,y0,x1,y1 in pixels (x1/y1 exclusive). Point: x,y,1 "
        "marks the object, x,y,0 the background; repeat --point for several.")
    p.add_argument("image", help="image file")
    p.add_argument("--tool", required=True, choices=list(TOOLS),
                   help="; ".join(f"{name}: {spec.label}" for name, spec in TOOLS.items()))
    p.add_argument("--box", type=parse_box, default=None, metavar="X0,Y0,X1,Y1")
    p.add_argument("--point", type=parse_point, action="append", default=[], metavar="X,Y,1|0")
    p.add_argument("--mask", metavar="START.png",
                   help="fix: the object's mask to correct (a PNG of the image's size, object = its non-zero pixels: "
                   "an earlier --out, or white on black in colour); the points then say where it is missing (1) or "
                   "too much (0)")
    p.add_argument("--tolerance", type=float, default=0.5, help="magic wand: 0 (strict) .. 1 (loose); default 0.5")
    p.add_argument("--out", required=True, metavar="MASK.png")
    from maskwork.core.cli.sam_commands import add_model_arguments

    add_model_arguments(p)
    p.set_defaults(func=cmd_segment)
