"""default_model_for: a bundled model whose task and classes fit, never a download; cheap (no torch)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from maskwork.core.domain.annotation import ClassInfo, ClassList
from maskwork.core.models.catalog.defaults import BUNDLED, bundled_path, default_model_for

ROOT = Path(__file__).resolve().parents[2]


def _classes(*names, zero="background"):
    return ClassList([ClassInfo(0, zero, "#000000")] + [ClassInfo(i + 1, n, "#FF0000") for i, n in enumerate(names)])


def test_the_bundled_model_that_fits_task_and_classes(aerial_dir):
    aerial = ClassList.from_list(json.loads((aerial_dir / "classes.json").read_text()))
    assert default_model_for("semantic", aerial) == "aerial-landcover"
    assert default_model_for("instance", _classes("nucleus")) == "nuclei-instance"
    assert default_model_for("semantic", _classes("Nucleus", zero="unlabeled")) == "nuclei-semantic"


def test_no_model_when_task_or_classes_do_not_fit(aerial_dir, monkeypatch, tmp_path):
    aerial = ClassList.from_list(json.loads((aerial_dir / "classes.json").read_text()))
    assert default_model_for("instance", aerial) is None           # no instance model for land cover
    assert default_model_for("instance", _classes("car", "person")) is None  # COCO needs a download: never
    assert default_model_for("semantic", _classes("nucleus", "membrane")) is None
    assert default_model_for("semantic", ClassList()) is None
    monkeypatch.setenv("MASKWORK_MODELS_DIR", str(tmp_path))       # bundled file missing: not offered
    assert default_model_for("instance", _classes("nucleus")) is None


def test_table_matches_the_registry():
    from maskwork.core.models.catalog.registry import MODELS, BundledFile

    bundled = {n: s for n, s in MODELS.items() if isinstance(s.source, BundledFile)}
    assert {name for name, _t, _c in BUNDLED} == set(bundled)
    for name, task, classes in BUNDLED:
        spec = bundled[name]
        assert spec.task == task and spec.classes.to_list() == classes().to_list()
        assert bundled_path(name) == spec.source.path


def test_it_does_not_import_torch():
    code = ("import sys; from maskwork.core.models.catalog.defaults import default_model_for; "
            "from maskwork.core.domain.annotation import ClassList; "
            "default_model_for('semantic', ClassList()); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False"]
