"""Where the bundled files are: models, sample images, licences. Found through importlib.resources, so the
same code works from the source tree, an editable install and an installed wheel (ADR 0010); never through
paths relative to the repository."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resources_dir() -> Path:
    """The folder of `maskwork.resources`. Wheels are installed unpacked, so it is a real folder on disk
    (torch.load, onnxruntime and shutil need paths, not Traversables)."""
    return Path(str(files("maskwork.resources")))


def bundled_models_dir() -> Path:
    return resources_dir() / "models"


def samples_dir() -> Path:
    return resources_dir() / "samples"
