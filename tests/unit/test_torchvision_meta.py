"""What the model list knows without torch (core.models.catalog.torchvision_meta,
core.models.catalog.availability) is what
torch and torchvision say: the weights' URLs and categories, the hub cache folder, each model's state."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models import get_weight

from maskwork.core.models.catalog import availability
from maskwork.core.models.catalog import weights as W
from maskwork.core.models.catalog.builtin import MODELS
from maskwork.core.models.catalog.specs import TorchvisionWeights
from maskwork.core.models.catalog.torchvision_meta import WEIGHTS


@pytest.mark.parametrize("name", sorted(WEIGHTS))
def test_our_copy_is_torchvision_s(name):
    url, categories = WEIGHTS[name]
    assert url == get_weight(name).url
    assert list(categories) == list(get_weight(name).meta["categories"])


def test_every_torchvision_model_is_in_the_copy():
    used = {s.source.weights for s in MODELS.values() if isinstance(s.source, TorchvisionWeights)}
    assert used <= set(WEIGHTS)


@pytest.mark.parametrize("env", [{}, {"TORCH_HOME": "th"}, {"XDG_CACHE_HOME": "xdg"},
                                 {"TORCH_HOME": "th", "XDG_CACHE_HOME": "xdg"}])
def test_the_hub_folder_is_torch_s(env, monkeypatch, tmp_path):
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, str(tmp_path / value))
    assert availability.hub_checkpoint_dir() == Path(torch.hub.get_dir()) / "checkpoints"


def test_states_are_the_loader_s(model_env, tmp_path, monkeypatch):
    for spec in MODELS.values():
        assert availability.weights_path(spec) == W.weights_path(spec)
        assert availability.model_state(spec) == W.model_state(spec) in ("cached", "bundled")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("MASKWORK_MODELS_DIR", str(tmp_path / "none"))
    for spec in MODELS.values():
        assert availability.model_state(spec) == W.model_state(spec) in ("needs download", "missing")
