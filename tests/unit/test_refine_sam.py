"""Refinement with a SAM-family model (core/refine/sam.py): each mask's box and its deepest inner point are the
prompts, and the candidate the model scores highest over both wins. The tiny SAM of sam_fixtures (random
weights, SAM's real decoder) on a real nuclei image: the test checks the choice, not the quality."""
from __future__ import annotations

import pytest

from maskwork.core.domain.annotation import Instance, Layer, Source
from maskwork.core.domain.errors import InputError
from maskwork.core.formats.coco import load_coco
from maskwork.core.refine.apply import refine_layer
from maskwork.core.store.images import read_image


@pytest.fixture(scope="module")
def nucleus(datasets):
    ds = load_coco(datasets / "nuclei" / "val.json")
    ann = ds.annotations[0]
    return read_image(datasets / "nuclei" / "images" / ann.file_name), max(ann.corrected.instances,
                                                                             key=lambda i: i.mask.area).mask


def test_prompts_are_the_box_and_a_point_inside(nucleus):
    from maskwork.core.refine.sam import prompts_for

    _, mask = nucleus
    box_only, with_point = prompts_for(mask)
    x, y, w, h = mask.bbox
    assert box_only.box == with_point.box == (x, y, x + w, y + h) and not box_only.points
    (px, py, positive), = with_point.points
    assert positive and mask.to_full()[py, px]


def test_the_best_scored_candidate_of_both_prompts_wins(nucleus, tiny_pair):
    from maskwork.core.interactive.sam.model import PromptModel
    from maskwork.core.refine.sam import prompts_for, refine_sam

    image, mask = nucleus
    model = PromptModel(*tiny_pair)
    emb = model.encode(image)
    candidates = []
    for prompt in prompts_for(mask):
        result = model.decode(emb, prompt)
        candidates += [(float(result.scores[i]), result.mask_at(i)) for i in range(len(result))
                       if not result.mask_at(i).is_empty]
    out = refine_sam(model, emb, mask)
    if candidates:
        assert out == max(candidates, key=lambda c: c[0])[1]
    else:
        assert out is mask
    layer = Layer(instances=[Instance(1, 1, mask, 0.9, None, Source.MODEL)])
    refined = refine_layer(image, layer, "sam", prompt_model=model)
    assert refined.instances[0].mask == out
    assert refined.instances[0].source == (Source.REFINED if out != mask else Source.MODEL)


def test_sam_without_a_model_says_what_to_do(nucleus):
    image, mask = nucleus
    with pytest.raises(InputError, match="needs a SAM-family model"):
        refine_layer(image, Layer(instances=[Instance(1, 1, mask, 0.9, None, Source.MODEL)]), "sam")
