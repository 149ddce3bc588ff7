"""Accepting a prediction over existing corrections: only predicted objects that match no corrected
one (IoU < 0.5) are added; semantically only unlabeled pixels take the prediction. Real nuclei masks
and a real aerial label map; undo restores the corrections bit for bit."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from maskwork.core import editing as E
from maskwork.core.domain.annotation import Instance, Layer, Source
from maskwork.core.domain.masks import Mask


@pytest.fixture(scope="module")
def nuclei_masks(nuclei_val) -> list[Mask]:
    data = json.loads(nuclei_val.read_text())
    image = data["images"][0]
    return [Mask.from_rle(a["segmentation"]) for a in data["annotations"] if a["image_id"] == image["id"]]


def _layer(masks, first_id=1) -> Layer:
    return Layer(None, [Instance(first_id + i, 1, m, 1.0, None, Source.MODEL) for i, m in enumerate(masks)])


def test_instances_matching_a_correction_are_not_added(nuclei_masks):
    assert len(nuclei_masks) >= 6
    prediction = _layer(nuclei_masks)
    corrected = _layer(nuclei_masks[:3], first_id=10)  # the user corrected three of them already
    before = list(corrected.instances)
    assert E.has_corrections(corrected) and not E.has_corrections(Layer(None, []))
    edit = E.accept_unmatched(corrected, prediction)
    assert len(corrected.instances) == len(nuclei_masks)  # 3 kept + the unmatched rest, nothing twice
    assert corrected.instances[:3] == before
    added = [i.mask for i in corrected.instances[3:]]
    for m in added:
        assert max(m.iou(c.mask) for c in before) < E.accept_ops.MATCH_IOU
    assert E.accept_unmatched(corrected, prediction) is None  # a second accept adds nothing
    edit.undo(corrected)
    assert corrected.instances == before


def test_an_instance_overlapping_a_corrected_one_by_less_than_half_is_added(nuclei_masks):
    m = nuclei_masks[0]
    x, y, w, h = m.bbox
    full = m.to_full()
    shifted = np.zeros_like(full)
    shifted[:, w:] = full[:, :-w]  # moved right by its own width: IoU 0 with the original
    corrected = _layer([Mask.from_full(shifted)])
    edit = E.accept_unmatched(corrected, _layer([m]))
    assert edit is not None and len(corrected.instances) == 2


def test_semantic_prediction_fills_only_unlabeled_pixels(aerial_dir):
    truth = np.array(Image.open(aerial_dir / "masks" / "tile1_001.png"))[:240, :320].astype(np.uint8)
    prediction = Layer(truth.copy(), [])
    corrected_map = np.zeros_like(truth)
    corrected_map[50:150, 60:200] = 1  # the user's correction (class 1) over a block
    corrected = Layer(corrected_map.copy(), [])
    edit = E.accept_unmatched(corrected, prediction)
    assert edit is not None
    inside = np.zeros(truth.shape, bool)
    inside[50:150, 60:200] = True
    assert np.array_equal(corrected.label_map[inside], corrected_map[inside])   # corrections kept
    assert np.array_equal(corrected.label_map[~inside], truth[~inside])         # the rest predicted
    edit.undo(corrected)
    assert np.array_equal(corrected.label_map, corrected_map)
    edit.redo(corrected)
    assert E.accept_unmatched(corrected, prediction) is None  # nothing unlabeled is left to predict
