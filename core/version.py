"""Maskwork's version, from the installed package's metadata (pyproject.toml's `version`), never typed twice."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version

DIST = "maskwork"


def version() -> str:
    try:
        return _dist_version(DIST)
    except PackageNotFoundError:  # a checkout run with `python main.py` before `make install`
        return "unknown (not installed; `make install` records it)"
