"""Real data and a small trained semantic model for the int8 / ONNX tests.

Random weights make int8-vs-float label comparisons meaningless (logits sit near ties), so the
accuracy tests use a U-Net (the bundled nuclei-semantic architecture) trained here for a fixed
number of steps on real nuclei crops, or the bundled checkpoint when it is present.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from pycocotools import mask as mask_utils

CROP = 96


def nuclei_crops(val_json: Path, count: int, skip: int = 0, size: int = CROP) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rgb, binary label map) crops of the first `count` nuclei images with >= 5 nuclei, after `skip`."""
    data = json.loads(val_json.read_text())
    by_img: dict[int, list] = {}
    for a in data["annotations"]:
        by_img.setdefault(a["image_id"], []).append(a)
    out, seen = [], 0
    for info in sorted(data["images"], key=lambda i: i["id"]):
        anns = by_img.get(info["id"], [])
        if len(anns) < 5:
            continue
        seen += 1
        if seen <= skip:
            continue
        label = np.zeros((info["height"], info["width"]), np.uint8)
        for a in anns:
            seg = a["segmentation"]
            rle = mask_utils.frPyObjects(seg, info["height"], info["width"]) if isinstance(seg["counts"], list) else seg
            label[mask_utils.decode(rle) > 0] = 1
        rgb = np.asarray(Image.open(val_json.parent / "images" / info["file_name"]).convert("RGB"))
        out.append((rgb[:size, :size].copy(), label[:size, :size].copy()))
        if len(out) == count:
            break
    return out


def _normalise(rgb: np.ndarray) -> torch.Tensor:
    from maskwork.core.models.catalog.registry import OWN_TILE
    from maskwork.core.models.torch_models.preprocess import normalize, to_tensor

    return normalize(to_tensor(rgb), OWN_TILE)


def trained_nuclei_unet(val_json: Path, steps: int = 150, budget_s: float = 40.0) -> torch.nn.Module:
    """A narrow UNetSmall (base 8, 2 classes) trained from a fixed seed on 8 real crops; stops early at
    `budget_s` so a loaded machine makes it weaker, not slower."""
    from maskwork.core.models.torch_models.light import UNetSmall

    torch.manual_seed(0)
    crops = nuclei_crops(val_json, 8)
    x = torch.stack([_normalise(rgb) for rgb, _ in crops])
    y = torch.stack([torch.from_numpy(lab).long() for _, lab in crops])
    model = UNetSmall(2, base=8)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    start = time.monotonic()
    model.train()
    for step in range(steps):
        idx = torch.randint(0, len(x), (8,))
        xb, yb = x[idx], y[idx]
        if step % 2:  # flips: cheap augmentation
            xb, yb = xb.flip(-1), yb.flip(-1)
        loss = torch.nn.functional.cross_entropy(model(xb)["out"], yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if time.monotonic() - start > budget_s:
            break
    return model.eval()


_TRAINED: dict[str, torch.nn.Module] = {}  # one training per test process, shared by the test modules


def nuclei_semantic_model(val_json: Path):
    """(spec, float model): the bundled nuclei-semantic checkpoint if present, else one trained here."""
    from maskwork.core.models.catalog.registry import get_model, weights_file

    spec = get_model("nuclei-semantic").with_input(tile=CROP, overlap=16)
    path = weights_file(spec)
    if path is not None and path.is_file():
        from maskwork.core.models.catalog.weights import load_model

        return spec, load_model(spec)
    if "unet" not in _TRAINED:
        _TRAINED["unet"] = trained_nuclei_unet(val_json)
    return spec, _TRAINED["unet"]
