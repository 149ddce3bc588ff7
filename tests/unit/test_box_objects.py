"""Box-only objects (core/editing/box_ops.py, ADR 0013) on real nuclei: created and undone, kept by the
store and by stroke clean-up, given a mask by the brush, exported as a COCO bbox without segmentation
and read back, and left out of mask scores together with the prediction that found them."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import maskwork.core.editing as ed
from maskwork.core.domain.annotation import ClassList, ImageAnnotation, Layer
from maskwork.core.editing import box_ops
from maskwork.core.formats.coco import load_coco
from maskwork.core.formats.coco_export import coco_export
from maskwork.core.metrics.compare import compare_layers
from maskwork.core.metrics.live_iou import LiveIoU
from maskwork.core.store.annotation_json import annotation_from_dict, annotation_to_dict

CLASSES = ClassList.from_names(["background", "nucleus"])


@pytest.fixture(scope="module")
def nuclei(nuclei_val) -> ImageAnnotation:
    """The first nuclei image with at least 10 objects, as read from the real COCO file."""
    return next(a for a in load_coco(nuclei_val).annotations if len(a.corrected.instances) >= 10)


def test_a_box_is_one_undo_step_and_survives_the_store_and_stroke_clean_up(nuclei):
    ann = copy.deepcopy(nuclei)
    layer = ann.corrected
    n = len(layer.instances)
    box = box_ops.box_from_corners((10, 20), (40, 35), ann.height, ann.width)
    assert box == (10.0, 20.0, 31.0, 16.0)
    edit = box_ops.create_box_instance(layer, box, 1, ann.height, ann.width)
    new = layer.instance(edit.added_ids[0])
    assert box_ops.is_box_only(new) and new.bbox == box and len(layer.instances) == n + 1
    assert ed.remove_empty_instances(layer) is None  # a box is not an erased leftover
    back = annotation_from_dict(json.loads(json.dumps(annotation_to_dict(ann))), "test")
    assert box_ops.is_box_only(back.corrected.instance(new.id)) and back.corrected.instance(new.id).box == box
    edit.undo(layer)
    assert len(layer.instances) == n
    edit.redo(layer)
    assert box_ops.is_box_only(layer.instance(new.id))


def test_painting_into_a_box_gives_it_a_mask(nuclei):
    ann = copy.deepcopy(nuclei)
    layer = ann.corrected
    edit = box_ops.create_box_instance(layer, (10, 20, 30, 16), 1, ann.height, ann.width)
    oid = edit.added_ids[0]
    ed.instance_segment(layer, oid, (15, 25), (30, 28), 3)
    inst = layer.instance(oid)
    assert not box_ops.is_box_only(inst) and inst.box is None and inst.mask.area > 0


def test_a_box_outside_the_image_is_refused(nuclei):
    from maskwork.core.domain.errors import InputError

    assert box_ops.box_from_corners((5, 5), (5, 6), 100, 100) is None  # a click, not a box
    with pytest.raises(InputError, match="inside the"):
        box_ops.create_box_instance(Layer(), (90, 90, 20, 20), 1, 100, 100)


def test_coco_export_writes_a_bbox_without_segmentation_and_reads_it_back(nuclei, tmp_path):
    ann = copy.deepcopy(nuclei)
    box_ops.create_box_instance(ann.corrected, (12, 14, 20, 10), 1, ann.height, ann.width)
    for mode in ("rle", "polygon"):
        data, report = coco_export([ann], CLASSES, mode)
        boxes = [a for a in data["annotations"] if a["segmentation"] == []]
        assert len(boxes) == 1 and boxes[0]["bbox"] == [12.0, 14.0, 20.0, 10.0] and boxes[0]["area"] == 200.0
        assert report.objects == len(ann.corrected.instances)
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps(data))
    back = load_coco(path).annotations[0].corrected
    box_only = [i for i in back.instances if box_ops.is_box_only(i)]
    assert [i.box for i in box_only] == [(12.0, 14.0, 20.0, 10.0)]
    # pycocotools reads it and scores boxes (a COCO bbox evaluation of the truth against itself)
    gt = COCO(str(path))
    dets = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
            for a in data["annotations"]]
    ev = COCOeval(gt, gt.loadRes(dets), "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] > 0.99


def test_mask_scores_leave_a_box_and_the_prediction_that_found_it_out(nuclei):
    """The truth has one nucleus as a box only; the prediction has every nucleus's mask. Mask IoU is
    perfect on the others; the boxed nucleus is 'found' but not scored by pixels."""
    truth = copy.deepcopy(nuclei)
    boxed = truth.corrected.instances[3]
    x, y, w, h = boxed.mask.bbox
    ed.delete_instances(truth.corrected, [boxed.id])
    box_ops.create_box_instance(truth.corrected, (x, y, w, h), boxed.class_id, truth.height, truth.width)
    truth.prediction = copy.deepcopy(nuclei.corrected)
    cmp = compare_layers(truth.corrected, truth.prediction, [1])
    assert cmp.boxes.boxes == 1 and cmp.boxes.found == 1
    assert cmp.mean_iou == pytest.approx(1.0)
    assert cmp.instances.num_gt == len(nuclei.corrected.instances) - 1
    assert cmp.instances.num_pred == len(nuclei.corrected.instances) - 1  # the finder left out too
    live = LiveIoU(truth, CLASSES)
    assert live.mean_iou == pytest.approx(1.0) and live.pq == pytest.approx(1.0)
    assert "1 box-only object not scored (1 found)" in live.summary()


def test_a_box_nobody_found_is_still_left_out_of_mask_iou(nuclei):
    truth = copy.deepcopy(nuclei)
    box_ops.create_box_instance(truth.corrected, (0, 0, 3, 3), 1, truth.height, truth.width)
    truth.prediction = copy.deepcopy(nuclei.corrected)
    cmp = compare_layers(truth.corrected, truth.prediction, [1])
    assert cmp.boxes.boxes == 1 and cmp.boxes.found == 0 and cmp.mean_iou == pytest.approx(1.0)
    assert np.isclose(cmp.instances.panoptic_quality, 1.0)


def test_coco_mask_ap_takes_a_box_as_a_region_to_ignore(nuclei):
    """COCOeval on a truth with a box-only object: a detection on the box is no false positive and the
    box is no miss (it becomes a crowd region), the other nuclei score as before."""
    from maskwork.core.domain.annotation import Instance
    from maskwork.core.domain.masks import Mask
    from maskwork.core.formats.coco_export import to_coco_results
    from maskwork.core.metrics.coco_ap import coco_mask_ap

    truth = copy.deepcopy(nuclei)
    box_ops.create_box_instance(truth.corrected, (2, 2, 12, 9), 1, truth.height, truth.width)
    gt, _ = coco_export([truth], CLASSES)
    on_box = np.zeros((truth.height, truth.width), bool)
    on_box[2:11, 2:14] = True
    truth.prediction = copy.deepcopy(nuclei.corrected)
    truth.prediction.instances.append(Instance(999, 1, Mask.from_full(on_box), score=0.99))
    ap = coco_mask_ap(gt, to_coco_results([truth], layer="prediction"))
    assert ap["AP"] == pytest.approx(1.0)
