"""Maskwork entry point: no argument opens the desktop app; a subcommand runs headless (see --help)."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")) or _looks_like_path(argv[0]):
        from gui.app import run_app  # Qt is imported only for the GUI

        return run_app(argv)
    from core.cli import run

    return run(argv)


def _looks_like_path(arg: str) -> bool:
    """`python main.py some/folder` opens that folder in the app."""
    from pathlib import Path

    return Path(arg).exists()


if __name__ == "__main__":
    sys.exit(main())
