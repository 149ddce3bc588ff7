"""Test weights for the model tests: a torch hub cache and bundled checkpoints filled by the tests.

No weights can be downloaded here, so each torchvision entry gets a randomly initialised state dict
saved under the exact file name its weights enum gives (the URL's basename), shaped like the real
file (aux heads of the VOC models, no BatchNorm counters in the v1 detector). Detector class biases
are raised so that random models still produce detections to exercise the plumbing. Files are built
once per test process and shared by every test module.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from maskwork.core.models.catalog.registry import MODELS, TorchvisionWeights
from maskwork.core.models.catalog.weights import build_model, torchvision_url
from maskwork.core.models.torch_models.checkpoint import save_checkpoint

# Real torchvision VOC weights carry the training-time auxiliary head.
AUX_IN_FILE = {"deeplabv3_resnet50", "deeplabv3_mobilenet_v3_large", "fcn_resnet50"}
# Checkpoint "input" of the test bundled models: small, so tests stay fast.
BUNDLED_INPUT = {"nuclei-instance": {"min_size": 256, "max_size": 512, "detections_per_img": 50},
                 "nuclei-semantic": {"tile": 256, "overlap": 32},
                 "aerial-landcover": {"tile": 160, "overlap": 32}}
_BUILT: dict[str, Path] = {}


def _seed(name: str) -> None:
    torch.manual_seed(sum(map(ord, name)))


def torchvision_like_state(name: str) -> dict:
    spec = MODELS[name]
    _seed(name)
    if name in AUX_IN_FILE:
        import torchvision.models.segmentation as seg

        model = getattr(seg, spec.arch)(weights=None, weights_backbone=None, num_classes=spec.num_classes,
                                        aux_loss=True)
    else:
        model = build_model(spec)
    sd = model.state_dict()
    if getattr(spec.source, "frozen_bn_eps", None) is not None:
        sd = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    bias = sd.get("roi_heads.box_predictor.cls_score.bias")
    if bias is not None:  # person and car likelier than 89 uniform classes: random models detect something
        bias[1], bias[3] = 5.0, 4.0
    return sd


def torch_home(root: Path) -> Path:
    """A TORCH_HOME whose hub cache holds test weights for every torchvision registry entry."""
    if "torch" not in _BUILT:
        home = root / "torch"
        ckpts = home / "hub" / "checkpoints"
        ckpts.mkdir(parents=True, exist_ok=True)
        for name, spec in MODELS.items():
            if isinstance(spec.source, TorchvisionWeights):
                torch.save(torchvision_like_state(name), ckpts / os.path.basename(torchvision_url(spec.source)))
        _BUILT["torch"] = home
    return _BUILT["torch"]


def bundled_dir(root: Path) -> Path:
    """A MASKWORK_MODELS_DIR with Maskwork checkpoints for the bundled entries (random weights)."""
    if "bundled" not in _BUILT:
        folder = root / "bundled"
        for name, input_spec in BUNDLED_INPUT.items():
            spec = MODELS[name]
            _seed(name)
            model = build_model(spec)
            sd = model.state_dict()
            if "roi_heads.box_predictor.cls_score.bias" in sd:
                sd["roi_heads.box_predictor.cls_score.bias"][1] = 2.0
            save_checkpoint(folder / f"{name}.pt", arch=spec.arch, task=spec.task, classes=spec.classes,
                            state_dict=sd, input_spec=input_spec)
        _BUILT["bundled"] = folder
    return _BUILT["bundled"]


@pytest.fixture(scope="session")
def weights_root(tmp_path_factory) -> Path:
    root = Path(os.environ.get("MASKWORK_TEST_WEIGHTS") or tmp_path_factory.getbasetemp()) / "model-weights"
    torch_home(root)
    bundled_dir(root)
    return root


@pytest.fixture()
def model_env(weights_root, tmp_path, monkeypatch) -> Path:
    """Offline, test-filled weights, a private config dir; returns the config dir."""
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    monkeypatch.setenv("MASKWORK_THREADS", "2")
    monkeypatch.setenv("TORCH_HOME", str(torch_home(weights_root)))
    monkeypatch.setenv("MASKWORK_MODELS_DIR", str(bundled_dir(weights_root)))
    monkeypatch.setenv("MASKWORK_OFFLINE", "1")
    config = tmp_path / "config"
    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(config))
    return config


def crop(image: np.ndarray, height: int = 333, width: int = 517) -> np.ndarray:
    """An odd-sized piece of a real image (tiled by reflection if the image is smaller)."""
    reps = (-(-height // image.shape[0]), -(-width // image.shape[1]), 1)
    return np.ascontiguousarray(np.tile(image, reps)[:height, :width])


def real_image(datasets: Path, kind: str) -> np.ndarray:
    from maskwork.core.store.images import read_image

    folder = {"nuclei": "nuclei/images", "aerial": "aerial/images", "coco": "coco_sample/val2017"}[kind]
    files = sorted(p for p in (datasets / folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    return read_image(files[len(files) // 2])
