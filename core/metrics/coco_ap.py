"""COCO mask AP through pycocotools' reference COCOeval (iouType="segm"), without its prints."""
from __future__ import annotations

import contextlib
import io
import math

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from maskwork.core.domain.errors import InputError

AP_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl")


def _normalise_gt(gt_coco: dict) -> dict:
    """A copy COCOeval can use: every annotation gets iscrowd and area, and ids 1..N.

    COCOeval treats a matched truth id of 0 as 'unmatched', so ids are renumbered when any is
    missing, zero or repeated."""
    for key in ("images", "annotations", "categories"):
        if key not in gt_coco:
            raise InputError(f"ground truth is not COCO: the '{key}' list is missing")
    anns = []
    images = {i["id"]: i for i in gt_coco["images"]}
    ids = [a.get("id") for a in gt_coco["annotations"]]
    renumber = any(not i for i in ids) or len(set(ids)) != len(ids)
    for n, a in enumerate(gt_coco["annotations"]):
        if "segmentation" not in a or "image_id" not in a or "category_id" not in a:
            raise InputError(f"ground-truth annotation #{n} (id {a.get('id')}) lacks segmentation, image_id "
                             "or category_id")
        a = dict(a)
        a.setdefault("iscrowd", 0)
        if a["segmentation"] == []:  # a box-only object (bbox, no segmentation; ADR 0013)
            a = _box_only_as_crowd(a)
        if renumber:
            a["id"] = n + 1
        if "area" not in a:
            img = images.get(a["image_id"])
            if img is None:
                raise InputError(f"ground-truth annotation {a['id']} refers to unknown image {a['image_id']}")
            a["area"] = float(_area(a["segmentation"], img["height"], img["width"]))
        anns.append(a)
    return {"images": gt_coco["images"], "annotations": anns, "categories": gt_coco["categories"]}


def _box_only_as_crowd(a: dict) -> dict:
    """A box has no pixels to score: its box becomes a crowd region, so a detection on it is neither
    a hit nor a false positive and the box is no miss (as core.metrics.box_objects rules for IoU)."""
    box = a.get("bbox")
    if not isinstance(box, list) or len(box) != 4:
        raise InputError(f"ground-truth annotation {a.get('id')} has neither a segmentation nor a bbox; "
                         "give it one of them or remove it")
    x, y, w, h = (float(v) for v in box)
    return {**a, "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]], "iscrowd": 1, "area": w * h}


def _area(segmentation, height: int, width: int) -> int:
    if isinstance(segmentation, list):  # polygons
        return int(mask_utils.area(mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))))
    if isinstance(segmentation.get("counts"), list):
        segmentation = mask_utils.frPyObjects(segmentation, height, width)
    return int(mask_utils.area(segmentation))


def _check_detections(detections: list[dict], gt: dict) -> None:
    if not detections:
        raise InputError("no detections to evaluate: run the model on the ground-truth images first "
                         "(or lower the score threshold)")
    image_ids = {i["id"] for i in gt["images"]}
    cat_ids = {c["id"] for c in gt["categories"]}
    for n, d in enumerate(detections):
        missing = [k for k in ("image_id", "category_id", "segmentation", "score") if k not in d]
        if missing:
            raise InputError(f"detection #{n} lacks {', '.join(missing)}")
    unknown = sorted({d["image_id"] for d in detections} - image_ids, key=str)
    if unknown:
        raise InputError(f"{len(unknown)} detected image id(s) are not in the ground truth, e.g. {unknown[:5]}; "
                         "evaluate predictions of the same images (check image ids / file names)")
    bad_cats = sorted({d["category_id"] for d in detections} - cat_ids, key=str)
    if bad_cats:
        raise InputError(f"detections use category id(s) {bad_cats[:5]} unknown to the ground truth "
                         f"(known: {sorted(cat_ids)[:20]}); map the model's classes to the dataset's")
    images = {i["id"]: i for i in gt["images"]}
    for n, d in enumerate(detections):
        seg, img = d["segmentation"], images[d["image_id"]]
        if isinstance(seg, dict) and [int(v) for v in seg.get("size", ())] != [img["height"], img["width"]]:
            raise InputError(f"detection #{n}: its mask is {seg.get('size')} (height, width) but image "
                             f"{d['image_id']} is {[img['height'], img['width']]}; masks must be at image size")


def coco_mask_ap(gt_coco: dict, detections: list[dict], max_dets: int | None = None) -> dict:
    """AP, AP50, AP75, APs, APm, APl (0..1; nan where COCOeval has no truth, e.g. no small objects).

    detections: [{"image_id", "category_id", "segmentation": RLE, "score"}]. `max_dets` caps
    detections per image; by default the larger of 100 (COCO's) and the most true objects in one
    image, so crowded images (hundreds of nuclei) are not capped below their truth."""
    gt = _normalise_gt(gt_coco)
    _check_detections(detections, gt)
    if max_dets is None:
        counts: dict = {}
        for a in gt["annotations"]:
            counts[a["image_id"]] = counts.get(a["image_id"], 0) + 1
        max_dets = max([100, *counts.values()])
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        # without 'bbox', loadRes takes each detection's area from its mask (as the truth's), not its box
        coco_dt = coco_gt.loadRes([{k: v for k, v in d.items() if k != "bbox"} for d in detections])
        ev = COCOeval(coco_gt, coco_dt, iouType="segm")
        ev.params.maxDets = [1, 10, int(max_dets)]
        ev.evaluate()
        ev.accumulate()
    # COCOeval.summarize() hard-codes maxDets=100 for its first AP, so read the precision table
    # directly, the way summarize() averages it (cells of -1 have no truth and are left out)
    out = {key: _mean_precision(ev, iou, area) for key, (iou, area) in _SUMMARY.items()}
    out["max_dets"] = int(max_dets)
    return out


_SUMMARY = {"AP": (None, "all"), "AP50": (0.5, "all"), "AP75": (0.75, "all"),
            "APs": (None, "small"), "APm": (None, "medium"), "APl": (None, "large")}


def _mean_precision(ev: COCOeval, iou: float | None, area: str) -> float:
    p = ev.params
    s = ev.eval["precision"][:, :, :, p.areaRngLbl.index(area), len(p.maxDets) - 1]  # [T, R, K]
    if iou is not None:
        s = s[np.flatnonzero(np.isclose(p.iouThrs, iou))]
    s = s[s > -1]
    return float(s.mean()) if s.size else math.nan


def masks_to_detections(image_id, masks, class_ids, scores) -> list[dict]:
    """COCO result entries for one image from Masks (e.g. InstanceResult fields)."""
    return [{"image_id": image_id, "category_id": int(c), "segmentation": m.to_rle(), "score": float(s)}
            for m, c, s in zip(masks, class_ids, scores) if not m.is_empty]
