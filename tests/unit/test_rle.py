"""core.domain.rle decodes exactly what pycocotools decodes, from the object's columns only."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

from maskwork.core.domain.masks import Mask
from maskwork.core.domain.rle import box_from_counts


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1), st.floats(0, 1))
def test_same_as_pycocotools(h, w, seed, density):
    full = np.random.default_rng(seed).random((h, w)) < density
    rle = mask_utils.encode(np.asfortranarray(full.astype(np.uint8)))
    mask = Mask.from_rle(rle)
    assert np.array_equal(mask.to_full(), mask_utils.decode(rle).astype(bool))
    assert mask == Mask.from_full(full)


def test_real_nuclei_and_crowd_rles(nuclei_val, coco_sample_val):
    import json

    doc = json.loads(nuclei_val.read_text())
    for a in doc["annotations"][::97]:
        rle = {"size": a["segmentation"]["size"], "counts": a["segmentation"]["counts"].encode()}
        h, w = rle["size"]
        assert np.array_equal(Mask.from_rle(rle).to_full(), mask_utils.decode(rle).astype(bool))
    coco = json.loads(coco_sample_val.read_text())
    for a in (a for a in coco["annotations"] if a["iscrowd"]):  # uncompressed counts
        h, w = a["segmentation"]["size"]
        ref = mask_utils.decode(mask_utils.frPyObjects(a["segmentation"], h, w)).astype(bool)
        assert np.array_equal(Mask.from_rle(a["segmentation"]).to_full(), ref)


@pytest.mark.parametrize("counts", [b"", b"\x7f", b"0`", b"PP", b"1", b"03", "03"])
def test_malformed_or_short_counts_are_refused(counts):
    """pycocotools returns uninitialised memory for b"1" on 3x3; Maskwork refuses such an RLE."""
    with pytest.raises(ValueError):
        Mask.from_rle({"size": [3, 3], "counts": counts})


def test_counts_that_do_not_fill_the_image_are_refused():
    assert box_from_counts([2, 3], 3, 3) is None and box_from_counts([-1, 10], 3, 3) is None
    assert box_from_counts([0, 2, 0, 3, 4], 3, 3)[2].sum() == 5  # zero-length runs are fine
