"""core/editing/locks.py on real data: what an applied edit may keep when objects or classes are
locked; the layer and the returned record always stay in step (undo of the record is exact)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import maskwork.core.editing as ed
from maskwork.core.domain.annotation import Instance, Layer, Source
from maskwork.core.domain.masks import Mask
from maskwork.core.editing.locks import EditLocks, restrict


@pytest.fixture(scope="module")
def truth(aerial_dir) -> np.ndarray:
    return np.array(Image.open(sorted((aerial_dir / "masks").glob("*.png"))[0]))[:320, :320]


@pytest.fixture
def nuclei(nuclei_val) -> Layer:
    doc = json.loads(nuclei_val.read_text())
    image = doc["images"][0]
    anns = [a for a in doc["annotations"] if a["image_id"] == image["id"]][:6]
    return Layer(None, [Instance(k, 1, Mask.from_rle(a["segmentation"]), 0.9, None, Source.MODEL)
                        for k, a in enumerate(anns, start=1)])


def test_brush_over_a_locked_class_paints_around_it(truth):
    layer = Layer(truth.copy())
    cid = int(np.bincount(truth.ravel())[1:].argmax()) + 1
    paint = 5 if cid != 5 else 4
    edit = ed.brush_segment(layer, (10, 10), (300, 290), 25, paint)
    kept, why = restrict(edit, layer, EditLocks(class_ids=frozenset({cid})))
    assert why and kept is not None
    after = layer.label_map
    assert (after[truth == cid] == cid).all()                  # the locked class is untouched
    assert (after != truth).any()                               # the rest was painted
    kept.undo(layer)
    assert np.array_equal(layer.label_map, truth)


def test_painting_with_a_locked_class_paints_nothing(truth):
    layer = Layer(truth.copy())
    edit = ed.brush_segment(layer, (10, 10), (300, 290), 25, 3)
    kept, why = restrict(edit, layer, EditLocks(class_ids=frozenset({3})))
    assert kept is None and why and np.array_equal(layer.label_map, truth)


def test_locked_instance_refuses_pixels_delete_merge_reclass(nuclei):
    locks = EditLocks(instance_ids=frozenset({2}))
    masks = {i.id: i.mask for i in nuclei.instances}
    for make in (lambda: ed.instance_segment(nuclei, 2, (5, 5), (60, 60), 6),
                 lambda: ed.delete_instances(nuclei, [1, 2]),
                 lambda: ed.merge_instances(nuclei, [1, 2]),
                 lambda: ed.set_instance_class(nuclei, [2], 7)):
        kept, why = restrict(make(), nuclei, locks)
        assert kept is None and why == "instance 2 is locked"
        assert [i.id for i in nuclei.instances] == sorted(masks)
        assert all(i.mask == masks[i.id] and i.class_id == 1 for i in nuclei.instances)
    kept, why = restrict(ed.delete_instances(nuclei, [3]), nuclei, locks)  # the others stay editable
    assert kept is not None and why == "" and 3 not in [i.id for i in nuclei.instances]


def test_locked_class_refuses_new_objects_and_replace(nuclei):
    locks = EditLocks(class_ids=frozenset({1}))
    h, w = nuclei.instances[0].mask.shape
    new = ed.create_instance(nuclei, Mask.from_crop(h, w, 0, 0, np.ones((4, 4), bool)), 1)
    kept, why = restrict(new, nuclei, locks)
    assert kept is None and why == "its class is locked" and len(nuclei.instances) == 6
    kept, why = restrict(ed.replace_layer(nuclei, Layer(None, [])), nuclei, locks)
    assert kept is None and "6 locked instances" in why and len(nuclei.instances) == 6


def test_accept_prediction_keeps_locked_label_pixels(truth):
    layer = Layer(truth.copy())
    prediction = Layer(np.full_like(truth, 4))
    edit = ed.replace_layer(layer, prediction)
    kept, why = restrict(edit, layer, EditLocks(class_ids=frozenset({2})))
    assert why and (layer.label_map[truth == 2] == 2).all() and (layer.label_map[truth != 2] == 4).all()
    kept.undo(layer)
    assert np.array_equal(layer.label_map, truth)


def test_a_stroke_group_is_restricted_part_by_part(truth):
    layer = Layer(truth.copy())
    group = ed.EditGroup(label="Brush")
    group.add(ed.brush_segment(layer, (20, 20), (150, 150), 12, 5))
    group.add(ed.brush_segment(layer, (150, 150), (300, 40), 12, 5))
    kept, why = restrict(group, layer, EditLocks(class_ids=frozenset({2})))
    assert why and (layer.label_map[truth == 2] == 2).all()
    kept.undo(layer)
    assert np.array_equal(layer.label_map, truth)
