"""Whether a model's weights are on this computer, answered without importing torch.

The window lists the models at start-up (gui/panels/model_jobs.py); asking torch where its hub cache
is, or torchvision what a weights file is called, would import torch (~1 s, ~700 MB) before the user
runs anything. The cache folder follows torch.hub.get_dir()'s rule and the file names come from
core.models.catalog.torchvision_meta; tests/unit/test_torchvision_meta.py checks both against torch itself.
core.models.catalog.weights (download, load) uses the same states.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

from maskwork.core.models.catalog.specs import BundledFile, ModelSpec, TorchvisionWeights, weights_file
from maskwork.core.models.catalog.torchvision_meta import WEIGHTS


def hub_checkpoint_dir() -> Path:
    """torch.hub.get_dir() / "checkpoints", the way torch computes it (TORCH_HOME, XDG_CACHE_HOME)."""
    if os.environ.get("TORCH_HUB"):  # deprecated by torch, still honoured by it
        return Path(os.path.expanduser(os.environ["TORCH_HUB"])) / "checkpoints"
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    home = os.path.expanduser(os.environ.get("TORCH_HOME") or os.path.join(cache, "torch"))
    return Path(home) / "hub" / "checkpoints"


def weights_path(spec: ModelSpec) -> Path:
    """Where the weights of `spec` are (or will be) read from."""
    if isinstance(spec.source, TorchvisionWeights):
        if spec.source.weights in WEIGHTS:
            return hub_checkpoint_dir() / os.path.basename(urlparse(WEIGHTS[spec.source.weights][0]).path)
        from maskwork.core.models.catalog.torchvision_lookup import torchvision_url  # not in our copy: slow path

        return hub_checkpoint_dir() / os.path.basename(urlparse(torchvision_url(spec.source)).path)
    path = weights_file(spec)
    assert path is not None  # every source that is not torchvision's names its file
    return path


def state(spec: ModelSpec, present: bool) -> str:
    """"cached" | "bundled" | "needs download" | "missing", for the model list."""
    if isinstance(spec.source, TorchvisionWeights):
        return "cached" if present else "needs download"
    if isinstance(spec.source, BundledFile):
        return "bundled" if present else "missing"
    return "cached" if present else "missing"


def model_state(spec: ModelSpec) -> str:
    return state(spec, weights_path(spec).is_file())
