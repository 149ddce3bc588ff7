"""Shared set-up for the panel tests: a small real nuclei project and tiny registered models.

Models are random-init Maskwork checkpoints of registry architectures, registered in a per-test
config dir (MASKWORK_CONFIG_DIR), so the real registry -> weights -> predictor path runs offline.
Random weights give meaningless masks: tests assert that the GUI shows what core computes.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from maskwork.core.domain.annotation import Instance, Layer, Status
from maskwork.core.domain.masks import Mask

N_IMAGES = 3
MODEL_INPUT = {  # small inputs keep CPU forward passes short
    "semantic": ("unet_small", {"tile": 128}),  # the lightest; no int8 route works for it yet
    "instance": ("maskrcnn_resnet18_lite", {"min_size": 256, "max_size": 256, "detections_per_img": 15}),
}


def nuclei_pick(nuclei_val: Path, n: int = N_IMAGES) -> tuple[list[dict], dict]:
    """The n smallest val images (256x256) with their annotations, in a stable order."""
    data = json.loads(nuclei_val.read_text())
    images = sorted(data["images"], key=lambda i: (i["width"] * i["height"], i["file_name"]))[:n]
    anns: dict[int, list] = {i["id"]: [] for i in images}
    for a in data["annotations"]:
        if a["image_id"] in anns:
            anns[a["image_id"]].append(a)
    return images, anns


def make_nuclei_project(folder: Path, nuclei_val: Path, task: str, n: int = N_IMAGES):
    """A Maskwork project of real nuclei images whose corrected layers are the ground truth."""
    from maskwork.core.models.catalog.classlists import nuclei_classes
    from maskwork.core.store.project import Project

    folder.mkdir(parents=True, exist_ok=True)
    images, anns = nuclei_pick(nuclei_val, n)
    for info in images:
        shutil.copy(nuclei_val.parent / "images" / info["file_name"], folder / info["file_name"])
    project = Project.create(folder, nuclei_classes(), task)
    for info in images:
        ann = project.annotation(info["file_name"])
        masks = [Mask.from_rle(a["segmentation"]) for a in anns[info["id"]]]
        if task == "semantic":
            label_map = np.zeros((info["height"], info["width"]), np.uint8)
            for m in masks:
                label_map[m.to_full()] = 1
            ann.corrected = Layer(label_map=label_map)
        else:
            ann.corrected = Layer(instances=[Instance(k + 1, 1, m) for k, m in enumerate(masks)])
        ann.status = Status.CORRECTED
        project.mark_dirty(info["file_name"])
    project.save()
    return project


def make_tiny_model(folder: Path, task: str, name: str, seed: int = 0, arch: str | None = None) -> str:
    """Save a random-init checkpoint of a registry architecture and register it; returns its name."""
    import torch

    from maskwork.core.models.catalog.classlists import nuclei_classes
    from maskwork.core.models.catalog.user_models import register_checkpoint
    from maskwork.core.models.torch_models.architectures import ARCHITECTURES
    from maskwork.core.models.torch_models.checkpoint import save_checkpoint

    default_arch, input_spec = MODEL_INPUT[task]
    arch = arch or default_arch
    torch.manual_seed(seed)
    model = ARCHITECTURES[arch].build(2)
    path = folder / f"{name}.pt"
    save_checkpoint(path, arch=arch, task=task, classes=nuclei_classes(), state_dict=model.state_dict(),
                    input_spec=input_spec)
    register_checkpoint(path, name=name, check=False)
    return name


@pytest.fixture
def isolated_config(tmp_path, monkeypatch):
    """User model list, int8 cache and torch hub in tmp: tests never touch the user's folders."""
    from maskwork.core.models.predictor_cache import PREDICTORS

    for var, sub in (("MASKWORK_CONFIG_DIR", "config"), ("MASKWORK_CACHE_DIR", "cache"), ("TORCH_HOME", "torch")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    PREDICTORS.clear()  # loaded models of an earlier test must not answer for this one
    yield tmp_path
    PREDICTORS.clear()


def open_project(state, project) -> None:
    state.project = project
    state.project_changed.emit()


def open_image(state, name: str) -> None:
    """What the main window does when the user picks an image."""
    project = state.project
    state.current_name = name
    state.annotation = project.annotation(name)
    state.image = project.image(name)
    state.last_result = None
    state.image_changed.emit(name)
