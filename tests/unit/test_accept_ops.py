"""Accepting part of a prediction: the clicked connected region (semantic, real aerial label map) or
the clicked instances (real nuclei masks), checked against scipy and undone bit for bit."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from maskwork.core import editing as E
from maskwork.core.domain.annotation import Instance, Layer, Source
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask


@pytest.fixture(scope="module")
def aerial_map(aerial_dir) -> np.ndarray:
    full = np.array(Image.open(aerial_dir / "masks" / "tile1_001.png"))
    return np.ascontiguousarray(full[100:340, 150:470])


@pytest.fixture(scope="module")
def nuclei_masks(nuclei_val) -> list[Mask]:
    data = json.loads(nuclei_val.read_text())
    image = data["images"][0]
    return [Mask.from_rle(a["segmentation"]) for a in data["annotations"] if a["image_id"] == image["id"]]


def _component(label_map, x, y) -> np.ndarray:
    """Independent reference: scipy's 8-connected component of the seed's class."""
    labels, _ = ndimage.label(label_map == label_map[y, x], structure=np.ones((3, 3)))
    return labels == labels[y, x]


def _seeds(label_map, n=6):
    """Seeds on several classes, each the first pixel of a different labelled component."""
    out = []
    for cid in np.unique(label_map):
        if cid == 0:
            continue
        ys, xs = np.nonzero(label_map == cid)
        k = len(ys) // 2
        out.append((int(xs[k]), int(ys[k])))
    return out[:n]


def test_accept_region_paints_exactly_the_connected_component(aerial_map):
    prediction = Layer(aerial_map)
    seeds = _seeds(aerial_map)
    assert len(seeds) >= 3  # the crop has several classes
    for x, y in seeds:
        corrected = Layer(np.zeros_like(aerial_map))
        region = E.predicted_region(prediction, (x, y))
        assert region.class_id == aerial_map[y, x]
        edit = E.accept_region(corrected, region)
        expected = np.where(_component(aerial_map, x, y), aerial_map[y, x], 0).astype(aerial_map.dtype)
        assert np.array_equal(corrected.label_map, expected)
        h, w = region.pixels.shape
        assert edit.bbox == (region.x0, region.y0, region.x0 + w, region.y0 + h)
        edit.undo(corrected)
        assert not corrected.label_map.any()


def test_accept_region_keeps_the_rest_of_the_correction_and_undoes(aerial_map):
    rng = np.random.default_rng(0)
    corrected_map = rng.integers(0, 6, aerial_map.shape).astype(np.uint8)
    corrected = Layer(corrected_map.copy())
    x, y = _seeds(aerial_map)[0]
    edit = E.accept_region(corrected, E.predicted_region(Layer(aerial_map), (x, y)))
    comp = _component(aerial_map, x, y)
    assert (corrected.label_map[comp] == aerial_map[y, x]).all()
    assert np.array_equal(corrected.label_map[~comp], corrected_map[~comp])
    edit.undo(corrected)
    assert np.array_equal(corrected.label_map, corrected_map)
    edit.redo(corrected)
    assert E.accept_region(corrected, E.predicted_region(Layer(aerial_map), (x, y))) is None  # already there


def test_predicted_region_on_uint16_and_nothing_to_accept(aerial_map):
    x, y = _seeds(aerial_map)[1]
    as16 = aerial_map.astype(np.uint16) * 300  # ids past 255: floodFill goes through float32
    region = E.predicted_region(Layer(as16), (x, y))
    assert region.class_id == as16[y, x]
    full = np.zeros(aerial_map.shape, bool)
    full[region.y0 : region.y0 + region.pixels.shape[0], region.x0 : region.x0 + region.pixels.shape[1]] = region.pixels
    assert np.array_equal(full, _component(aerial_map, x, y))
    ys, xs = np.nonzero(aerial_map == 0)
    assert E.predicted_region(Layer(aerial_map), (xs[0], ys[0])) is None  # unlabeled: nothing predicted
    assert E.predicted_region(Layer(aerial_map), (-1, 5)) is None
    assert E.predicted_region(Layer(instances=[]), (5, 5)) is None and E.predicted_region(None, (5, 5)) is None


def test_accept_instances_copies_the_clicked_ones_with_new_ids(nuclei_masks):
    prediction = Layer(instances=[Instance(10 + k, 1, m, score=0.9, source=Source.MODEL)
                                  for k, m in enumerate(nuclei_masks)])
    corrected = Layer(instances=[Instance(1, 1, nuclei_masks[0])])  # already has the first nucleus
    edit = E.accept_instances(corrected, prediction, [12, 10, 15])  # 10 is skipped: same pixels
    assert [i.id for i in corrected.instances] == [1, 2, 3]
    for got, pid in zip(corrected.instances[1:], (12, 15)):
        src = prediction.instance(pid)
        assert got.mask is src.mask and got.score == 0.9 and got.source == Source.MODEL
    assert edit.added_ids == [2, 3]
    edit.undo(corrected)
    assert [i.id for i in corrected.instances] == [1]
    edit.redo(corrected)
    assert E.accept_instances(corrected, prediction, [12]) is None  # a second click adds nothing
    with pytest.raises(InputError, match="no instance 99"):
        E.accept_instances(corrected, prediction, [99])
