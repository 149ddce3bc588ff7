"""Mask: cropped storage, RLE round trips and IoU on real nuclei masks."""
from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from maskwork.core.domain.masks import Mask


@pytest.fixture(scope="module")
def nuclei_rles(nuclei_val):
    data = json.loads(nuclei_val.read_text())
    return [a["segmentation"] for a in data["annotations"][:200]]


def test_rle_round_trip_is_bit_exact(nuclei_rles):
    for rle in nuclei_rles:
        full = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)
        m = Mask.from_rle(rle)
        assert np.array_equal(m.to_full(), full)
        assert m.area == int(full.sum()) == int(mask_utils.area(m.to_rle()))
        assert np.array_equal(mask_utils.decode({**m.to_rle(), "counts": m.to_rle()["counts"].encode()}), full)


def test_crop_is_tight_and_small(nuclei_rles):
    m = Mask.from_rle(nuclei_rles[0])
    x, y, w, h = m.bbox
    full = m.to_full()
    ys, xs = np.nonzero(full)
    assert (x, y, x + w - 1, y + h - 1) == (xs.min(), ys.min(), xs.max(), ys.max())
    assert m.crop.nbytes == w * h < full.size
    # same bbox as pycocotools (which reports floats)
    assert list(mask_utils.toBbox(m.to_rle())) == [float(v) for v in m.bbox]


def test_uncompressed_rle_counts_are_accepted(nuclei_rles):
    full = Mask.from_rle(nuclei_rles[3]).to_full()
    flat = full.flatten(order="F").astype(np.uint8)
    change = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    counts = np.diff(np.concatenate([[0], change])).tolist()
    m = Mask.from_rle({"size": list(full.shape), "counts": counts})
    assert np.array_equal(m.to_full(), full)


def test_iou_matches_numpy(nuclei_rles):
    a = Mask.from_rle(nuclei_rles[5])
    shifted = np.roll(a.to_full(), 3, axis=1)
    b = Mask.from_full(shifted)
    fa, fb = a.to_full(), b.to_full()
    expected = (fa & fb).sum() / (fa | fb).sum()
    assert a.iou(b) == pytest.approx(expected)
    assert a.iou(a) == 1.0
    assert Mask.empty(10, 10).iou(Mask.empty(10, 10)) == 1.0
    assert a.iou(Mask.empty(*a.shape)) == 0.0


def test_region_and_with_region_edit_only_the_window(nuclei_rles):
    m = Mask.from_rle(nuclei_rles[7])
    x, y, w, h = m.bbox
    window = m.region(x - 5, y - 5, x + w + 5, y + h + 5)
    assert window.sum() == m.area
    patch = np.ones((4, 4), bool)
    grown = m.with_region(x + w + 2, y, patch)  # outside the old box: the crop grows
    full = m.to_full()
    full[y : y + 4, x + w + 2 : x + w + 6] = True
    assert np.array_equal(grown.to_full(), full)
    assert np.array_equal(m.to_full(), Mask.from_rle(nuclei_rles[7]).to_full())  # original untouched
    cleared = m.with_region(x, y, np.zeros((h, w), bool))
    assert cleared.is_empty and cleared == Mask.empty(*m.shape)
