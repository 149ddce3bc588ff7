"""Maskwork entry point: no argument opens the desktop app; a subcommand runs headless (see --help).

`python main.py PATH` opens an image, folder or project in the app. A subcommand name always wins
over a same-named file in the current folder.
"""
from __future__ import annotations

import sys


def _is_command(arg: str) -> bool:
    """A subcommand, --help, or a mistyped word that is no path (argparse then lists the commands)."""
    from pathlib import Path

    from maskwork.core.cli import command_names  # cheap: no torch, no Qt

    if arg in ("-h", "--help") or arg in command_names():
        return True
    return not arg.startswith("-") and not Path(arg).exists()


def _missing_path(arg: str) -> str | None:
    """The message for an argument that names a file or folder which is not there (None otherwise).
    A bare word without a path separator or suffix stays a command typo, answered by argparse."""
    import os
    from pathlib import Path

    looks_like_path = os.sep in arg or "/" in arg or arg.startswith(("~", ".")) or bool(Path(arg).suffix)
    if arg.startswith("-") or not looks_like_path or Path(arg).expanduser().exists():
        return None
    kind = "file" if Path(arg).suffix else "folder"
    return (f"maskwork: error: the {kind} {arg} does not exist; give an existing folder, project or image to open, "
            "or a command (python main.py --help lists them).")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    missing = _missing_path(argv[0]) if argv else None
    if missing:
        print(missing, file=sys.stderr)
        return 2
    if argv and _is_command(argv[0]):
        from maskwork.core.cli import run

        return run(argv)
    from maskwork.gui.app import run_app  # Qt is imported only for the GUI

    return run_app(argv)


def _use_this_checkout() -> None:
    """`python main.py` runs the checkout it sits in, installed or not: the package `maskwork` is this folder
    (core/, gui/, resources/ map to maskwork.core, maskwork.gui, maskwork.resources as in the wheel, ADR 0010)."""
    import importlib.util
    import types
    from pathlib import Path

    here = str(Path(__file__).resolve().parent)
    spec = importlib.util.find_spec("maskwork")
    if spec is not None and here in [str(Path(p).resolve()) for p in spec.submodule_search_locations or []]:
        return
    package = types.ModuleType("maskwork")
    package.__path__ = [here]
    sys.modules["maskwork"] = package


if __name__ == "__main__":
    _use_this_checkout()
    sys.exit(main())
