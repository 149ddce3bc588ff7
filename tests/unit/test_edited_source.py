"""Issue 18, section 3: an object a model made and a person then changed is the person's (Source.PERSON,
"by hand" in the Objects panel), for every hand edit of an instance; undo gives the model's back."""
from __future__ import annotations

import json

import pytest

from maskwork.core.domain.annotation import Instance, Layer, Source
from maskwork.core.domain.masks import Mask
from maskwork.core.editing import instance_ops
from maskwork.core.editing import outline_ops as oo
from maskwork.core.editing.group import merge_window_edits

HOLED = 13947  # nuclei val annotation id: a nucleus with a 16-pixel hole


@pytest.fixture
def layer(nuclei_val) -> Layer:
    doc = json.loads(nuclei_val.read_text())
    mask = Mask.from_rle(next(a for a in doc["annotations"] if a["id"] == HOLED)["segmentation"])
    return Layer(None, [Instance(1, 1, mask, score=0.8, source=Source.MODEL)])


def test_outline_drag_makes_it_the_persons_and_undo_gives_it_back(layer):
    outline = oo.trace_mask(layer.instances[0].mask)
    pts = list(outline.points)
    pts[0] = (pts[0][0] - 7, pts[0][1] - 5)
    edit, _change = oo.apply_instance_outline(layer, 1, outline, pts)
    assert layer.instances[0].source == Source.PERSON and layer.instances[0].score == 0.8
    edit.undo(layer)
    assert layer.instances[0].source == Source.MODEL


def test_a_stroke_of_several_pieces_is_one_step_from_model_to_person(layer):
    bx, by, bw, bh = layer.instances[0].bbox
    x, y = int(bx + bw / 2), int(by + bh / 2)
    pieces = [instance_ops.instance_segment(layer, 1, (x, y), (x + 20 * k, y), 4) for k in (1, 2)]
    pieces = [p for p in pieces if p is not None]
    assert pieces and layer.instances[0].source == Source.PERSON
    merged = merge_window_edits(pieces, layer, "Brush")
    merged.undo(layer)
    assert layer.instances[0].source == Source.MODEL
    merged.redo(layer)
    assert layer.instances[0].source == Source.PERSON


def test_changing_the_class_by_hand_makes_it_the_persons(layer):
    edit = instance_ops.set_instance_class(layer, [1], 2)
    assert (layer.instances[0].class_id, layer.instances[0].source) == (2, Source.PERSON)
    edit.undo(layer)
    assert (layer.instances[0].class_id, layer.instances[0].source) == (1, Source.MODEL)
