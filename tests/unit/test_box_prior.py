"""Box to mask from the box alone takes the whole object (issue 21): GrabCut alone keeps a person's most uniform
part (the shirt); strokes from the cut to each box side it does not reach (a dragged box is tight: the object
touches all four sides) bring head and legs back. Real coco_sample val people and nuclei val objects; the
same objects without the prior (tight_radius=0, the behaviour before) as the baseline."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from maskwork.core.interactive.clicks import box_of
from maskwork.core.interactive.grabcut import GrabCutParams, grabcut, to_unreached_sides
from maskwork.core.interactive.prompt import Prompt
from maskwork.core.store.images import read_image

OFF = GrabCutParams(tight_radius=0)
_image = lru_cache(maxsize=4)(read_image)


@pytest.fixture(scope="module")
def people(datasets):
    from bench.interactive_eval import coco_objects

    return [o for o in coco_objects() if o.category == "person"]


def _mean_iou(objects, params) -> float:
    return float(np.mean([o.mask.iou(grabcut(_image(o.image), Prompt(box=box_of(o.mask)), params)) for o in objects]))


def test_people_from_the_box_alone(people):
    assert len(people) >= 40
    before, after = _mean_iou(people, OFF), _mean_iou(people, GrabCutParams())
    assert after >= 0.6 and after > before + 0.1, (before, after)


def test_nuclei_from_the_box_alone_no_worse(datasets):
    from bench.interactive_eval import nuclei_objects

    objects = nuclei_objects(40, seed=1)
    before, after = _mean_iou(objects, OFF), _mean_iou(objects, GrabCutParams())
    assert after >= before, (before, after)


def test_a_negative_click_on_the_way_keeps_that_side_open(people):
    obj = max(people, key=lambda o: o.mask.area)
    box = box_of(obj.mask)
    cut = grabcut(_image(obj.image), Prompt(box=box), OFF)
    strokes = to_unreached_sides(cut, Prompt(box=box), GrabCutParams())
    assert strokes, "the shirt-only cut should leave a side of the box unreached"
    (sx, sy), (ex, ey) = strokes[0].points
    blocked = Prompt(box=box, points=[((sx + ex) // 2, (sy + ey) // 2, False)])
    assert len(to_unreached_sides(cut, blocked, GrabCutParams())) == len(strokes) - 1
