"""The bundled models with their real weights (resources/models), for tests that need real outputs.

Loaded once per test process; offline, 2 threads. Tests using them skip when the files are absent.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from maskwork.core.resources import bundled_models_dir

_LOADED: dict[str, object] = {}


@pytest.fixture()
def real_models(monkeypatch):
    """A loader of the bundled models as shipped: real_models("aerial-landcover") -> Predictor."""
    import torch

    monkeypatch.delenv("MASKWORK_MODELS_DIR", raising=False)
    monkeypatch.setenv("MASKWORK_OFFLINE", "1")
    monkeypatch.setenv("MASKWORK_THREADS", "2")
    torch.set_num_threads(min(2, os.cpu_count() or 1))

    def load(name: str):
        if not (bundled_models_dir() / f"{name}.pt").is_file():
            pytest.skip(f"bundled model {name} not found in {bundled_models_dir()}")
        if name not in _LOADED:
            from maskwork.core.models.predict import Predictor

            _LOADED[name] = Predictor(name, device="cpu")
        return _LOADED[name]

    return load


def project_of(folder: Path, images: list[Path], classes, task: str):
    """A saved Maskwork project holding copies of these image files."""
    from maskwork.core.store.project import Project

    folder.mkdir(parents=True, exist_ok=True)
    for path in images:
        shutil.copy(path, folder / path.name)
    return Project.create(folder, classes, task)
