"""Score predictions saved as files against ground truth saved as files (the `iou` command).

Two COCO files (the prediction may also be a detection-results list): instance matching per image
(IoU >= threshold, same class) and COCO mask AP through core.metrics. Two folders of PNG label
maps: per-class IoU, mean IoU and pixel accuracy over all pixels of all images (core.metrics).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.formats import png
from maskwork.core.formats.coco import decode_segmentation, load_coco, read_json
from maskwork.core.formats.coco_export import to_coco_results


def _listing(items: list[str], n: int = 5) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


# ---- instances ----------------------------------------------------------------------------------
def _pred_detections(pred_path: Path, gt) -> tuple[list[dict], list[str]]:
    """Prediction as detections with the truth's image/category ids; also warnings."""
    doc = read_json(pred_path)
    warnings: list[str] = []
    if isinstance(doc, list):
        return doc, warnings
    pred = load_coco(pred_path)
    by_name = {c.name: c.id for c in gt.classes}
    used = {i.class_id for a in pred.annotations for i in a.corrected.instances}
    unknown = sorted(pred.classes.get(c).name for c in used if pred.classes.get(c).name not in by_name)
    if unknown:
        raise InputError(f"{pred_path}: predicted categories {_listing(unknown)} are not in the ground truth "
                         f"(it has {_listing(sorted(by_name))}); compare files that use the same category names.")
    remap = {c: by_name[pred.classes.get(c).name] for c in used}  # categories match by name, not id
    missing = [a.file_name for a in pred.annotations if a.file_name not in gt.image_ids]
    if missing:
        warnings.append(f"{len(missing)} predicted image(s) are not in the ground truth and were ignored: "
                        f"{_listing(missing)}")
    anns = [a for a in pred.annotations if a.file_name in gt.image_ids]
    for a in anns:
        for inst in a.corrected.instances:
            inst.class_id = remap[inst.class_id]
    return to_coco_results(anns, gt.image_ids, layer="corrected"), warnings


def _decode(det: dict, h: int, w: int, path: Path) -> Mask:
    """A detection's mask, checked like a dataset annotation (size, RLE, polygon range)."""
    return decode_segmentation(det["segmentation"], h, w, path, f"detection for image id {det['image_id']!r}")


def compare_coco(gt_path: str | Path, pred_path: str | Path, iou_threshold: float = 0.5,
                 score_threshold: float = 0.5) -> dict:
    from maskwork.core.metrics import coco_mask_ap, match_instances
    from maskwork.core.metrics.instances import panoptic_quality

    gt_path, pred_path = Path(gt_path), Path(pred_path)
    gt = load_coco(gt_path)
    detections, warnings = _pred_detections(pred_path, gt)
    id_to_ann = {gt.image_ids[a.file_name]: a for a in gt.annotations}
    per_image: dict = {iid: [] for iid in id_to_ann}
    for n, d in enumerate(detections):
        if not isinstance(d, dict) or any(k not in d for k in ("image_id", "category_id", "segmentation")):
            raise InputError(f"{pred_path}: detection #{n} is not an object with image_id, category_id and "
                             "segmentation; give a COCO results list or dataset.")
        if d["image_id"] not in per_image:
            raise InputError(f"{pred_path}: detection #{n} points at image id {d['image_id']!r}, which is not in "
                             "the ground truth; compare predictions of the same images.")
        score = d.get("score", 1.0)
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise InputError(f"{pred_path}: detection #{n} has the score {score!r}; scores are numbers.")
        # every detection is decoded strictly, also those below the threshold: COCOeval sees them all
        # and would read a damaged RLE as whatever memory follows it
        ann = id_to_ann[d["image_id"]]
        mask = _decode(d, ann.height, ann.width, pred_path)
        if score >= score_threshold:
            per_image[d["image_id"]].append((d, mask))
    totals = {"num_gt": 0, "num_pred": 0, "matched": 0}
    matched_ious = []
    for iid, ann in id_to_ann.items():
        gt_inst = [i for i in ann.corrected.instances if not i.iscrowd]
        preds = [d for d, _mask in per_image[iid]]
        pred_masks = [mask for _d, mask in per_image[iid]]
        m = match_instances([i.mask for i in gt_inst], pred_masks, iou_threshold,
                            [i.class_id for i in gt_inst], [int(d["category_id"]) for d in preds])
        totals["num_gt"] += m.num_gt
        totals["num_pred"] += m.num_pred
        totals["matched"] += m.tp
        matched_ious += [p[2] for p in m.pairs]
    tp, g, p = totals["matched"], totals["num_gt"], totals["num_pred"]
    result = {"task": "instance", "images": len(id_to_ann), **totals,
              "precision": tp / p if p else math.nan, "recall": tp / g if g else math.nan,
              "f1": 2 * tp / (g + p) if g + p else math.nan,
              "mean_matched_iou": float(np.mean(matched_ious)) if matched_ious else math.nan,
              "panoptic_quality": panoptic_quality(matched_ious, g, p),
              "iou_threshold": iou_threshold, "score_threshold": score_threshold, "warnings": warnings}
    raw_gt = read_json(gt_path)  # load_coco above checked it: a COCO object
    result["coco"] = coco_mask_ap(raw_gt, detections) if detections and isinstance(raw_gt, dict) else {}
    return result


# ---- semantic -----------------------------------------------------------------------------------
def compare_png_folders(gt_dir: str | Path, pred_dir: str | Path, ignore_index: int | None = None) -> dict:
    from maskwork.core.metrics import accumulate

    gt_dir, pred_dir = Path(gt_dir), Path(pred_dir)
    for d in (gt_dir, pred_dir):
        if not d.is_dir():
            raise InputError(f"{d} is not a folder of PNG label maps.")
    gt_files = {p.relative_to(gt_dir).with_suffix("").as_posix(): p for p in sorted(gt_dir.rglob("*.png"))}
    pred_files = {p.relative_to(pred_dir).with_suffix("").as_posix(): p for p in sorted(pred_dir.rglob("*.png"))}
    if not gt_files:
        raise InputError(f"{gt_dir} holds no .png label maps.")
    missing = sorted(set(gt_files) - set(pred_files))
    if missing:
        raise InputError(f"{pred_dir} has no prediction for {len(missing)} ground-truth mask(s): {_listing(missing)}. "
                         "Predict those images or remove them from the ground-truth folder.")
    sidecar = png.find_classes_sidecar(gt_dir)
    classes = png.read_classes_json(sidecar) if sidecar else None
    pairs = [(png.read_label_png(gt_files[k], classes), png.read_label_png(pred_files[k], classes))
             for k in gt_files]
    top = max(max(int(a.max(initial=0)), int(b.max(initial=0))) for a, b in pairs)
    ids = classes.ids() if classes else list(range(top + 1))
    if classes and ignore_index is None:
        ignore_index = classes.ignore_id()
    scores = accumulate(pairs, ids, ignore_index=ignore_index, num_classes=max(top, *ids) + 1,
                        names=list(gt_files))
    names = {c.id: c.name for c in classes} if classes else {i: f"class {i}" for i in ids}
    extra = sorted(set(pred_files) - set(gt_files))
    return {"task": "semantic", "images": len(pairs), "ignore_index": ignore_index,
            "per_class_iou": {names.get(c, str(c)): v for c, v in scores.per_class.items()},
            "mean_iou": scores.mean_iou, "pixel_accuracy": scores.pixel_accuracy,
            "warnings": [f"{len(extra)} predicted mask(s) have no ground truth and were ignored"] if extra else []}


def compare_paths(gt: str | Path, pred: str | Path, **kwargs) -> dict:
    gt, pred = Path(gt), Path(pred)
    if gt.is_dir() and pred.is_dir():
        return compare_png_folders(gt, pred, kwargs.get("ignore_index"))
    if gt.is_file() and pred.is_file():
        return compare_coco(gt, pred, kwargs.get("iou_threshold", 0.5), kwargs.get("score_threshold", 0.5))
    raise InputError(f"give two COCO JSON files or two folders of PNG label maps (got {gt} and {pred}); "
                     "check that both exist.")
