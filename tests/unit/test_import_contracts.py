"""The import-linter contracts of pyproject.toml (`make lint`) hold on the tree and really fail on a module
that breaks them: lint-imports runs on a copy of core/ and gui/ into which one forbidden import is added."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
api = pytest.importorskip("importlinter.api", reason="import-linter comes with the `lint` extra")
CONTRACTS = [c["name"] for c in api.read_configuration(str(ROOT / "pyproject.toml"))["contracts_options"]]


def _copy(tmp_path: Path) -> Path:
    """core/ and gui/ as a regular `maskwork` package that shadows the editable install."""
    pkg = tmp_path / "maskwork"
    for part in ("core", "gui"):
        shutil.copytree(ROOT / part, pkg / part, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "__init__.py").write_text("")
    return pkg


def _lint(tmp_path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=300)
    return " ".join((out.stdout + out.stderr).split())  # contract names wrap at the terminal width


def _contract(fragment: str) -> str:
    return next(name for name in CONTRACTS if fragment in name)


def test_the_tree_keeps_every_contract(tmp_path):
    _copy(tmp_path)
    text = _lint(tmp_path)
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken" in text, text


@pytest.mark.parametrize("module, line, contract", [
    ("core/metrics/semantic.py", "import maskwork.core.models.catalog.registry", "annotation model"),
    ("core/domain/masks.py", "from PySide6 import QtCore", "never imports the GUI or Qt"),
    ("core/store/project.py", "import maskwork.gui.state", "never imports the GUI or Qt"),
    ("core/store/project.py", "from maskwork.core.formats import png", "core layers"),  # the store reads no format
    ("core/domain/annotation.py", "from maskwork.core.store import images", "core layers"),
    ("core/domain/rle.py", "from maskwork.core.domain import masks", "domain's own layers"),
    ("core/models/predict.py", "from maskwork.core.models import batch", "batches are built on top"),
    ("core/models/catalog/weights.py", "from maskwork.core.models.catalog import registry",
     "never import the registry"),
    ("gui/panels/image_list.py", "from maskwork.gui.controllers import session", "never import the window"),
    ("gui/canvas/view.py", "import maskwork.gui.controllers.file_ops", "never import the window"),
])
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, contract):
    target = _copy(tmp_path) / module
    target.write_text(target.read_text() + f"\n{line}  # the violation under test\n")
    text = _lint(tmp_path)
    assert f"{_contract(contract)} BROKEN" in text, text
    assert module.replace("/", ".").removesuffix(".py") in text  # the report names the offending module
