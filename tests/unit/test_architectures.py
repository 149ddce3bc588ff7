"""Every architecture in the table builds without downloading and runs on a real image."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from maskwork.core.models.torch_models.architectures import ARCHITECTURES


@pytest.fixture(scope="module")
def nuclei_crop(datasets):
    path = sorted((datasets / "nuclei" / "images").glob("*.png"))[0]
    rgb = np.asarray(Image.open(path).convert("RGB"))[:96, :128]
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() / 255


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_architecture_builds_and_runs(name, nuclei_crop):
    torch.manual_seed(0)
    arch = ARCHITECTURES[name]
    model = arch.build(3).eval()
    with torch.inference_mode():
        if arch.task == "instance":
            model.transform.min_size, model.transform.max_size = (96,), 128  # keep the test light
            out = model([nuclei_crop])[0]
            assert set(out) >= {"boxes", "labels", "scores", "masks"}
            assert out["masks"].shape[-2:] == nuclei_crop.shape[-2:]
        else:
            logits = model(nuclei_crop[None])["out"]
            assert logits.shape == (1, 3, *nuclei_crop.shape[-2:])
            assert torch.isfinite(logits).all()
