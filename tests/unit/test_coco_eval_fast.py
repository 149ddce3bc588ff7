"""Mask AP without the slow parts: FastCOCOeval's matching, per-image AP from one evaluation and the RLE of a
mask's crop must give exactly pycocotools' numbers and bytes, on nuclei-instance's real detections."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from maskwork.core.domain.masks import Mask
from maskwork.core.training import instance as inst
from maskwork.core.training.box_rle import encode_box
from maskwork.core.training.coco_eval import FastCOCOeval
from maskwork.core.training.evaluate import instance_detections, prepare

IMAGES = 3


@pytest.fixture(scope="module")
def nuclei_detections(nuclei_val):
    """Ground truth and every detection down to score 0 of the first nuclei val images; in the truth, one
    nucleus of each image marked crowd (COCOeval's other matching rule: crowds match many detections)."""
    ev = prepare("nuclei-instance", nuclei_val, max_images=IMAGES)
    records = [inst.gt_records(i, it) for i, it in enumerate(ev.items, start=1)]
    for _, anns in records:
        anns[len(anns) // 2]["iscrowd"] = 1
    gt, _ = inst.gt_document(records, ev.data.classes)
    dets = [d for i, it in enumerate(ev.items, start=1) for d in instance_detections(ev.predictor, i, it, ev.cmap)]
    return ev, gt, dets


def _evaluator(cls, gt: dict, dets: list[dict], img_ids=None):
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        ev = cls(coco_gt, coco_gt.loadRes([dict(d) for d in dets]), "segm")
        ev.params.maxDets = [1, 10, inst.MAX_DETS]
        if img_ids is not None:
            ev.params.imgIds = img_ids
        ev.evaluate()
        ev.accumulate()
    return ev


def test_fast_matching_gives_cocoevals_records(nuclei_detections):
    _, gt, dets = nuclei_detections
    stock, fast = _evaluator(COCOeval, gt, dets), _evaluator(FastCOCOeval, gt, dets)
    assert len(stock.evalImgs) == len(fast.evalImgs) == len(gt["images"]) * 4  # one category, 4 area ranges
    matched = 0
    for a, b in zip(stock.evalImgs, fast.evalImgs):
        assert a.keys() == b.keys()
        for key in a:
            if isinstance(a[key], np.ndarray):
                assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key
            else:
                assert a[key] == b[key], key
        matched += int(np.count_nonzero(a["dtMatches"]))
    assert matched > 100  # real matches were compared, not empty tables
    assert np.array_equal(stock.eval["precision"], fast.eval["precision"])


def test_per_image_ap_is_cocoeval_of_that_image_alone(nuclei_detections):
    """The reference: COCOeval run on each image by itself (what coco_mask_ap did before, once per image)."""
    _, gt, dets = nuclei_detections
    got = inst.coco_mask_ap(gt, dets, per_image=True)["per_image"]
    for img in gt["images"]:
        one = dict(gt, images=[img], annotations=[a for a in gt["annotations"] if a["image_id"] == img["id"]])
        ev = _evaluator(COCOeval, one, [d for d in dets if d["image_id"] == img["id"]])
        prec = ev.eval["precision"][:, :, :, 0, -1]  # area "all", maxDets 300
        iou = list(np.round(ev.params.iouThrs, 2))
        want = {"ap": prec[prec > -1].mean(), "ap50": prec[iou.index(0.5)][prec[iou.index(0.5)] > -1].mean(),
                "ap75": prec[iou.index(0.75)][prec[iou.index(0.75)] > -1].mean()}
        assert got[img["file_name"]] == {k: float(v) for k, v in want.items()}
    assert len({v["ap"] for v in got.values()}) == len(got) > 1  # images of their own, not one shared number


def test_crop_rle_is_the_bytes_of_the_full_mask(nuclei_detections):
    ev, _, _ = nuclei_detections
    res = ev.predictor.predict(ev.items[0].image(), score_threshold=0.0)
    assert len(res.masks) > 50
    for m in res.masks:
        want = mask_utils.encode(np.asfortranarray(m.to_full().astype(np.uint8)))
        assert encode_box(m.x0, m.y0, m.crop, m.height, m.width) == want


@pytest.mark.parametrize("h,w", [(7, 5), (1, 9), (9, 1), (16, 16)])
def test_crop_rle_at_the_image_edges(h, w):
    """Crops on every border and as tall as the image (runs that go on into the next column), a full image, an
    empty mask and a mask reaching the last pixel, on random pixels against pycocotools."""
    rng = np.random.default_rng(h * 100 + w)
    masks = [Mask.from_full(np.ones((h, w), bool)), Mask.empty(h, w)]
    last = np.zeros((h, w), bool)
    last[-1, -1] = True
    masks.append(Mask.from_full(last))
    for _ in range(200):
        full = rng.random((h, w)) < rng.choice([0.2, 0.5, 0.9])
        if rng.random() < 0.5:  # keep a box of it
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            full[:y0] = False
            full[:, :x0] = False
        masks.append(Mask.from_full(full))
    for m in masks:
        want = mask_utils.encode(np.asfortranarray(m.to_full().astype(np.uint8)))
        assert encode_box(m.x0, m.y0, m.crop, m.height, m.width) == want, m
