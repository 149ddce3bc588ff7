"""core.metrics.live_iou follows random edits and always equals core.metrics.compare_layers (real masks)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from maskwork.core import editing
from maskwork.core.domain.annotation import ClassList, ImageAnnotation, Instance, Layer
from maskwork.core.domain.masks import Mask
from maskwork.core.metrics.compare import compare_layers
from maskwork.core.metrics.live_iou import LiveIoU

CROP = 240
point = st.tuples(st.integers(-10, CROP + 10), st.integers(-10, CROP + 10))
stroke = st.tuples(point, point, st.integers(1, 12), st.integers(0, 5), st.booleans())


@pytest.fixture(scope="module")
def aerial(aerial_dir):
    classes = ClassList.from_list(json.loads((aerial_dir / "classes.json").read_text()))
    mask_path = sorted((aerial_dir / "masks").glob("*.png"))[0]
    truth = np.array(Image.open(mask_path))[:CROP, :CROP].copy()
    return classes, truth


def _same(live: LiveIoU, ann: ImageAnnotation, classes: ClassList) -> None:
    exp = compare_layers(ann.corrected, ann.prediction, classes.ids(), ignore_index=classes.ignore_id())
    assert live.mean_iou == pytest.approx(exp.mean_iou, nan_ok=True)
    got = {r.key: r.iou for r in live.rows()}
    if exp.semantic is not None:
        assert got.keys() == exp.per_class.keys()
        assert classes.ignore_id() not in got  # aerial "unlabeled" is not scored
        for c, v in exp.per_class.items():
            assert (math.isnan(v) and math.isnan(got[c])) or got[c] == pytest.approx(v)
    else:
        assert got == pytest.approx({s.gt_id: s.iou for s in exp.per_instance})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(strokes=st.lists(stroke, min_size=1, max_size=6))
def test_semantic_random_strokes_and_undo(aerial, strokes):
    classes, truth = aerial
    ann = ImageAnnotation("t.png", CROP, CROP, corrected=Layer(label_map=truth.copy()),
                          prediction=Layer(label_map=np.roll(truth, (4, -3), axis=(0, 1))))
    live = LiveIoU(ann, classes)
    _same(live, ann, classes)
    done = []
    for p0, p1, radius, class_id, erase in strokes:
        edit = (editing.erase_segment(ann.corrected, p0, p1, radius) if erase
                else editing.brush_segment(ann.corrected, p0, p1, radius, class_id))
        if edit is None:
            continue
        done.append(edit)
        live.update(edit.bbox)
        _same(live, ann, classes)
    for edit in reversed(done):
        edit.undo(ann.corrected)
        live.update(edit.bbox)
        _same(live, ann, classes)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(strokes=st.lists(st.tuples(st.integers(0, 50), point, point, st.integers(1, 6), st.booleans()),
                        min_size=1, max_size=5))
def test_instance_random_strokes(nuclei_val, strokes):
    data = json.loads(nuclei_val.read_text())
    image = min(data["images"], key=lambda i: (i["width"] * i["height"], i["id"]))
    masks = [Mask.from_rle(a["segmentation"]) for a in data["annotations"] if a["image_id"] == image["id"]]
    gt = Layer(instances=[Instance(k + 1, 1, m) for k, m in enumerate(masks)])
    pred = Layer(instances=[Instance(k + 1, 1, Mask.from_full(np.roll(m.to_full(), 3, axis=1)), score=0.8)
                            for k, m in enumerate(masks[1:])])
    ann = ImageAnnotation(image["file_name"], image["width"], image["height"], corrected=gt, prediction=pred)
    classes = ClassList.from_names(["background", "nucleus"])
    live = LiveIoU(ann, classes)
    _same(live, ann, classes)
    for pick, p0, p1, radius, erase in strokes:
        target = gt.instances[pick % len(gt.instances)]
        edit = editing.instance_segment(gt, target.id, p0, p1, radius, erase=erase)
        if edit is not None:
            live.update(edit.bbox)
            _same(live, ann, classes)
