"""The models Maskwork can run: the built-in ones (core.models.catalog.builtin) and the user's
(core.models.catalog.user_models).

A spec (core.models.catalog.specs) says what a model is (task, architecture, classes), how images are fed to it
(InputPolicy) and where its weights come from. Bundled and user checkpoints written by Maskwork describe
themselves ("arch", "classes", "input"); when the file exists its description wins over the declared defaults.
Loading weights: core.models.catalog.weights.
"""
from __future__ import annotations

from difflib import get_close_matches
from pathlib import Path

from maskwork.core.domain.errors import MaskworkError, ModelError
from maskwork.core.models.catalog.builtin import MODELS
from maskwork.core.models.catalog.headers import read_header
from maskwork.core.models.catalog.specs import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    OWN_RCNN,
    OWN_TILE,
    RCNN,
    VOC_RESIZE,
    BundledFile,
    InputPolicy,
    ModelSpec,
    OnnxFile,
    TorchvisionWeights,
    UserCheckpoint,
    WeightsSource,
    spec_with_header,
    weights_file,
)
from maskwork.core.models.catalog.user_models import user_specs
from maskwork.core.models.torch_models.checkpoint import check_header

# the types live in core.models.catalog.specs; importers of the registry may take them from here
__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "MODELS", "OWN_RCNN", "OWN_TILE", "RCNN", "VOC_RESIZE", "BundledFile",
    "InputPolicy", "ModelSpec", "OnnxFile", "TorchvisionWeights", "UserCheckpoint", "WeightsSource",
    "all_models", "checkpoint_header", "get_model", "model_names", "resolved", "spec_with_header", "weights_file",
]

# Checkpoint descriptions read once per file version: (path, mtime, size) -> header dict
_HEADER_CACHE: dict[tuple, dict] = {}


def checkpoint_header(path: Path) -> dict:
    """arch/task/classes/input of a Maskwork checkpoint ({} for a plain state dict), read without torch
    (core.models.catalog.headers: the sidecar, else the pickle with its tensors left out)."""
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _HEADER_CACHE:
        header = read_header(path)
        check_header(path, header)  # a task that contradicts the architecture: refused as torch.load's route does
        _HEADER_CACHE[key] = header
    return _HEADER_CACHE[key]


def resolved(spec: ModelSpec) -> ModelSpec:
    """Bundled/user specs take arch, classes and input from their checkpoint when the file exists."""
    path = weights_file(spec)
    if spec.backend != "torch" or isinstance(spec.source, TorchvisionWeights) or path is None or not path.is_file():
        return spec
    try:
        return spec_with_header(spec, checkpoint_header(path))
    except MaskworkError:
        return spec  # listing still works; loading the weights reports the problem in full


def all_models() -> list[ModelSpec]:
    """Built-in models then the user's registered checkpoints, resolved."""
    return [resolved(s) for s in MODELS.values()] + [resolved(s) for s in user_specs()]


def model_names() -> list[str]:
    return list(MODELS) + [s.name for s in user_specs()]


def get_model(name: str) -> ModelSpec:
    if name in MODELS:
        return resolved(MODELS[name])
    for spec in user_specs():
        if spec.name == name:
            return resolved(spec)
    if Path(name).is_file():  # a file where a name belongs: say how it becomes a model
        raise ModelError(f"{name} is a file, not a model name: register it first with `maskwork register-model "
                         f"{name} --name NAME` (or add it in the window's Model panel), then give NAME.")
    names = model_names()
    close = get_close_matches(name, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ModelError(f"unknown model {name!r}.{hint} Known models: {', '.join(names)} "
                     "(`maskwork models` lists them; register your own checkpoint with `maskwork register-model`).")
