"""Headless command line: `python main.py COMMAND ...`.

Subcommands are declared in small modules (one per area) listed in COMMAND_MODULES; each module
has `register(subparsers)` which adds its commands and sets `func` on each parser. A command
function takes the parsed args and returns an exit code. Errors derived from MaskworkError are
printed as one clear line on stderr (exit 2); nothing else is caught, so bugs still show a trace.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from maskwork.core.domain.errors import Cancelled, MaskworkError
from maskwork.core.logs import setup_logging

log = logging.getLogger(__name__)

# One module per area; a missing module is skipped so partial installs still give a CLI.
COMMAND_MODULES = [
    "maskwork.core.cli.io_commands",      # import, export, iou
    "maskwork.core.cli.model_commands",   # models, register-model, predict
    "maskwork.core.cli.train_commands",   # train, evaluate
    "maskwork.core.cli.quant_commands",   # quantize, export-model
    "maskwork.core.cli.sam_commands",     # sam-models, sam-download, sam-register
    "maskwork.core.cli.segment_commands",  # segment (interactive tools, headless)
    "maskwork.core.cli.store_commands",   # forget-image
    "maskwork.core.cli.compare_commands",  # compare (two models over a dataset)
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maskwork",
        usage="main.py [FOLDER]           open FOLDER (images, a project, or one image) in the desktop app;\n"
              "                                  without it, the last project\n"
              "       main.py COMMAND [options]  run headless (main.py COMMAND --help for its options)",
        description="Maskwork: segmentation annotation, inference, quantization, training. "
        "Run without a command to open the desktop app; give a folder, image or project to open it.",
    )
    # the commands' own usage lines ("main.py export ...") must not repeat the two-line usage above
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="main.py")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


# The commands those modules register, so that `main.py FOLDER` tells a folder from a command without
# importing every command module (~0.3 s of the app's start-up); tests/unit/test_cli_progress.py checks
# that this list is what the parser registers.
COMMAND_NAMES = ("import", "export", "iou", "models", "register-model", "predict", "train", "evaluate", "quantize",
                 "export-model", "sam-models", "sam-download", "sam-register", "segment", "forget-image", "compare")


def command_names() -> set[str]:
    return set(COMMAND_NAMES)


def registered_names() -> set[str]:
    """The command names the parser really has (slow: imports every command module)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    setup_logging("cli")  # the one-line messages below; the tracebacks go to the log file
    started = False
    try:
        from maskwork.core.cli.output_paths import check_outputs

        check_outputs(args)  # every declared output path, before any work (core/store/writer_guard.py)
        started = True
        return int(args.func(args) or 0)
    except Cancelled as exc:
        print(f"maskwork: cancelled: {exc}", file=sys.stderr)
        return 130
    except MaskworkError as exc:
        log.warning("%s failed: %s", args.command, exc, exc_info=True)
        print(f"maskwork {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # the writer that was interrupted says what it left, when it knows
        note = str(exc) or ("" if started else "nothing was written")
        print(f"maskwork {args.command}: interrupted" + (f"; {note}" if note else ""), file=sys.stderr)
        return 130
    except Exception:  # a bug: logged, then the trace on stderr as before
        log.exception("%s failed unexpectedly", args.command)
        raise
