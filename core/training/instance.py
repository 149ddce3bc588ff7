"""Mask R-CNN pieces of training: batches, loss (torchvision's own), inference, COCO mask AP.

Training crops are pre-scaled by the same factor the model's transform applies at inference
(min_size / shorter side), and the transform's resize is skipped while training, so objects have
the same pixel size in training and in use. COCO mask AP is computed with pycocotools' COCOeval (with
core.training.coco_eval's faster matching, the same numbers), per-image AP from the same single evaluation.
"""
from __future__ import annotations

import contextlib
import io
import random

import numpy as np
import torch
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from maskwork.core.domain.errors import InputError
from maskwork.core.training.augment import instance_sample
from maskwork.core.training.box_rle import encode_box
from maskwork.core.training.coco_eval import FastCOCOeval, per_image_precision
from maskwork.core.training.datasets import Item, Targets

MAX_DETS = 300  # crowded microscopy images hold more than COCO's usual 100 objects


def to_tensor(rgb: np.ndarray, device="cpu") -> torch.Tensor:
    return torch.from_numpy(np.require(rgb, np.uint8, ["C", "W"])).to(device).permute(2, 0, 1).float().div_(255)


def base_scale(h: int, w: int, min_size: int, max_size: int) -> float:
    """The resize factor of torchvision's GeneralizedRCNNTransform for an h x w image."""
    return min(min_size / min(h, w), max_size / max(h, w))


def _instances(it: Item) -> Targets:
    if it.instances is None:
        raise InputError(f"{it.name} has no objects: an instance model trains and is scored on objects.")
    return it.instances()


def make_batch(items: list[Item], rng: random.Random, batch_size: int, crop: int, min_size: int, max_size: int,
               device) -> tuple[list[torch.Tensor], list[dict]]:
    images, targets = [], []
    for _ in range(batch_size):
        it = items[rng.randrange(len(items))]
        img = it.image()
        s = base_scale(img.shape[0], img.shape[1], min_size, max_size)
        im, masks, boxes, ids = instance_sample(img, _instances(it), crop, rng, base_scale=s)
        images.append(to_tensor(im, device))
        targets.append({"boxes": torch.from_numpy(boxes).to(device),
                        "labels": torch.from_numpy(ids).to(device),
                        "masks": torch.from_numpy(masks.astype(np.uint8)).to(device)})
    return images, targets


def loss_fn(model, images, targets) -> tuple[torch.Tensor, dict]:
    losses = model(images, targets)
    return sum(losses.values()), {k: float(v.detach()) for k, v in losses.items()}


def set_train_mode(model, train: bool, min_size: int, max_size: int) -> None:
    """Training skips the transform's resize (crops are pre-scaled); inference resizes to min/max size."""
    model.train(train)
    model.transform._skip_resize = train
    model.transform.min_size = (min_size,)
    model.transform.max_size = max_size


@torch.no_grad()
def predict(model, rgb: np.ndarray, device="cpu") -> dict:
    out = model([to_tensor(rgb, device)])[0]
    return {k: v.cpu() for k, v in out.items()}


def gt_records(img_id: int, item: Item) -> tuple[dict, list[dict]]:
    """One image's COCO image record and ground-truth annotations (without ids: gt_document numbers them)."""
    t = _instances(item)
    h, w = t.masks.shape[1:] if len(t.masks) else item.image().shape[:2]
    image = {"id": img_id, "file_name": item.name, "height": int(h), "width": int(w)}
    anns = []
    for m, c, crowd in zip(t.masks, t.class_ids, t.iscrowd):
        rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        anns.append({"image_id": img_id, "category_id": int(c), "segmentation": rle,
                     "area": float(mask_utils.area(rle)), "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                     "iscrowd": int(crowd)})
    return image, anns


def gt_document(records: list[tuple[dict, list[dict]]], classes) -> tuple[dict, list[dict]]:
    """The COCO ground-truth dict of gt_records in image order; also returns the image records."""
    images: list[dict] = []
    anns: list[dict] = []
    for image, image_anns in records:
        images.append(image)
        anns += [{"id": len(anns) + k + 1, **a} for k, a in enumerate(image_anns)]
    cats = [{"id": c.id, "name": c.name} for c in classes if c.id != 0]
    return {"images": images, "annotations": anns, "categories": cats}, images


def gt_coco(items: list[Item], classes) -> tuple[dict, list[dict]]:
    """A COCO ground-truth dict of the items (RLE masks); also returns the image records."""
    return gt_document([gt_records(img_id, it) for img_id, it in enumerate(items, start=1)], classes)


def detections(img_id: int, masks: np.ndarray, scores, class_ids) -> list[dict]:
    """COCO result records of (N, H, W) bool masks."""
    out = []
    for m, s, c in zip(masks, scores, class_ids):
        rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        out.append({"image_id": img_id, "category_id": int(c), "segmentation": rle, "score": float(s)})
    return out


def box_detections(img_id: int, masks, scores, class_ids) -> list[dict]:
    """COCO result records of Masks (crop + offset): the RLE of each crop placed in the image, the same
    records as `detections` of the full masks without building them (core.training.box_rle)."""
    return [{"image_id": img_id, "category_id": int(c), "segmentation": encode_box(m.x0, m.y0, m.crop, m.height,
                                                                                    m.width), "score": float(s)}
            for m, s, c in zip(masks, scores, class_ids)]


def coco_mask_ap(gt: dict, dets: list[dict], per_image: bool = False) -> dict:
    """COCOeval 'segm' summary: ap, ap50, ap75 (and per-image AP if asked)."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        if not dets:
            return {"ap": 0.0, "ap50": 0.0, "ap75": 0.0, "detections": 0}
        coco_dt = coco_gt.loadRes([dict(d) for d in dets])  # loadRes writes into the records
        ev = FastCOCOeval(coco_gt, coco_dt, "segm")
        ev.params.maxDets = [1, 10, MAX_DETS]
        ev.evaluate()
        ev.accumulate()
    # COCOeval.summarize() hard-codes maxDets=100 for its first AP; read the precision table at MAX_DETS.
    prec = ev.eval["precision"][:, :, :, :, -1]  # (iou thresholds, recall, class, area range)
    recall = ev.eval["recall"][:, :, :, -1]
    area = {name: i for i, name in enumerate(ev.params.areaRngLbl)}

    def mean(a) -> float:
        a = a[a > -1]
        return float(a.mean()) if a.size else 0.0

    iou = list(np.round(ev.params.iouThrs, 2))
    result: dict[str, object] = {
        "ap": mean(prec[..., area["all"]]), "ap50": mean(prec[iou.index(0.5), ..., area["all"]]),
        "ap75": mean(prec[iou.index(0.75), ..., area["all"]]), "ap_small": mean(prec[..., area["small"]]),
        "ap_medium": mean(prec[..., area["medium"]]), "ap_large": mean(prec[..., area["large"]]),
        "ar": mean(recall[..., area["all"]]), "detections": len(dets), "max_dets": MAX_DETS}
    names = {c["id"]: c.get("name", str(c["id"])) for c in gt.get("categories", [])}
    per_class = {names.get(c, str(c)): mean(prec[:, :, k, area["all"]]) for k, c in enumerate(ev.params.catIds)
                 if (prec[:, :, k, area["all"]] > -1).any()}  # categories with ground truth only
    result["ap_per_class"] = per_class
    if per_image:  # each image's numbers as a COCOeval of that image alone gives them (tests check it)
        tables = per_image_precision(ev, "all")
        result["per_image"] = {img["file_name"]: {"ap": mean(t), "ap50": mean(t[iou.index(0.5)]),
                                                  "ap75": mean(t[iou.index(0.75)])}
                               for img in gt["images"] for t in [tables[img["id"]]]}
    return result


def validate(model, items: list[Item], classes, min_size: int, max_size: int, device, cancel=None,
             mask_threshold: float = 0.5) -> dict:
    set_train_mode(model, False, min_size, max_size)
    gt, images = gt_coco(items, classes)
    dets = []
    for img_id, it in enumerate(items, start=1):
        if cancel is not None:
            cancel.check()
        out = predict(model, it.image(), device)
        masks = (out["masks"][:, 0] > mask_threshold).numpy()
        dets += detections(img_id, masks, out["scores"].tolist(), out["labels"].tolist())
    return coco_mask_ap(gt, dets)
