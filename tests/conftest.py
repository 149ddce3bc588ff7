"""Shared test set-up: headless Qt, paths to the real datasets, temporary copies."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.skip(f"real datasets not found at {DATASETS}")
    return DATASETS


@pytest.fixture(scope="session")
def nuclei_val(datasets) -> Path:
    return datasets / "nuclei" / "val.json"


@pytest.fixture(scope="session")
def aerial_dir(datasets) -> Path:
    return datasets / "aerial"


@pytest.fixture(scope="session")
def coco_sample_val(datasets) -> Path:
    return datasets / "coco_sample" / "instances_val2017.json"
