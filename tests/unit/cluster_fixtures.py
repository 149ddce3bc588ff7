"""A local Ray instance for the `--engine ray` tests (2 CPUs, started once per test module), real data
and the bundled models with their real weights, and helpers to run and compare both engines."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

NUCLEI_IMAGES = 8


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'maskwork[cluster]'")
    pytest.importorskip("ray.data")
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


@pytest.fixture()
def shipped_models(monkeypatch):
    """The bundled models as shipped (real weights), offline, 2 threads in this process."""
    from maskwork.core.resources import bundled_models_dir

    monkeypatch.delenv("MASKWORK_MODELS_DIR", raising=False)
    monkeypatch.setenv("MASKWORK_OFFLINE", "1")
    monkeypatch.setenv("MASKWORK_THREADS", "2")
    for name in ("nuclei-semantic", "nuclei-instance", "aerial-landcover"):
        if not (bundled_models_dir() / f"{name}.pt").is_file():
            pytest.skip(f"bundled model {name} not found in {bundled_models_dir()}")


def nuclei_images(nuclei_val: Path, count: int = NUCLEI_IMAGES) -> list[Path]:
    """The first `count` images of nuclei val.json (several sizes and stains), in the file's order."""
    doc = json.loads(nuclei_val.read_text())
    return [nuclei_val.parent / "images" / i["file_name"] for i in doc["images"][:count]]


def copy_images(paths: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for p in paths:
        shutil.copy(p, folder / p.name)
    return folder


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    from maskwork.core.cli import run

    capsys.readouterr()
    rc = run([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def read_ledger(path: Path) -> list[dict]:
    from maskwork.core.store.edit_log import read_log

    records, torn = read_log(path)
    assert not torn, f"{path} has a torn record"
    return records[1:]  # the first is the header


def assert_same_instances(a: dict, b: dict) -> None:
    """Two COCO prediction files: every mask pixel identical (RLE strings equal), scores within 1e-5."""
    assert a["images"] == b["images"] and a["categories"] == b["categories"] and a["info"] == b["info"]
    assert len(a["annotations"]) == len(b["annotations"]) > 0
    for x, y in zip(a["annotations"], b["annotations"]):
        assert (x["image_id"], x["category_id"], x["segmentation"]) == (y["image_id"], y["category_id"],
                                                                      y["segmentation"])
        assert abs(x["score"] - y["score"]) <= 1e-5
        assert np.allclose(x["bbox"], y["bbox"], atol=1e-3)


def same_pngs(a: Path, b: Path) -> list[str]:
    """Names of the label PNGs of folder a whose pixels differ in folder b (or are missing there)."""
    from maskwork.core.training.datasets import read_label_png  # class ids, not palette colours

    bad = []
    for p in sorted(a.glob("*.png")):
        other = b / p.name
        x = read_label_png(p)
        y = read_label_png(other) if other.is_file() else None
        if y is None or x.shape != y.shape or (x != y).any():
            bad.append(p.name)
    return bad
