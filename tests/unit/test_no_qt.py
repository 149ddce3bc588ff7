"""core/ must not import Qt, directly or through another import."""
from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _core_modules() -> list[str]:
    import maskwork.core as core

    return ["maskwork.core"] + [m.name for m in pkgutil.walk_packages(core.__path__, "maskwork.core.")]


def test_no_core_module_imports_qt():
    modules = _core_modules()
    assert len(modules) > 5
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in ('PySide6','PyQt5','PyQt6','shiboken6','qtpy'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core imports Qt: {out.stdout}"


def test_guard_detects_qt(tmp_path):
    """The check above really fails when a module pulls Qt in."""
    (tmp_path / "leaky.py").write_text("import PySide6.QtCore\n")
    code = (
        "import sys; sys.path.insert(0, %r); import leaky\n"
        "print(any(k.startswith('PySide6') for k in sys.modules))" % str(tmp_path)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
