"""core.view.render.mask_bgra, the interactive tools' preview: class colour inside, white border, nothing
outside, on a real nucleus mask."""
from __future__ import annotations

import json

import numpy as np
from scipy import ndimage

from maskwork.core.domain.masks import Mask
from maskwork.core.view.render import FILL_ALPHA, mask_bgra


def test_mask_bgra_colours_inside_border_and_outside(nuclei_val):
    data = json.loads(nuclei_val.read_text())
    ann = max((a for a in data["annotations"] if a["image_id"] == data["images"][0]["id"]), key=lambda a: a["area"])
    crop = Mask.from_rle(ann["segmentation"]).crop
    out = mask_bgra(crop, (200, 100, 50))
    assert out.shape == crop.shape + (4,) and out.dtype == np.uint8
    interior = ndimage.binary_erosion(crop, border_value=0)  # 4-neighbours all inside (cross structure)
    border = crop & ~interior
    fill = np.round(np.array([50, 100, 200, 255]) * FILL_ALPHA).astype(np.uint8)  # premultiplied B, G, R, A
    assert interior.any() and border.any()
    assert (out[interior] == fill).all()
    assert (out[border] == 255).all()
    assert not out[~crop].any()
