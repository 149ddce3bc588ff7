"""Score a model on labelled data: `evaluate(model, data, per_image=False) -> EvalTable`.

`model` is a registry name (run by core.models.predict.Predictor) or a checkpoint file; `data` is a
COCO .json, a Maskwork project, an images/+masks/ folder, or a TrainData.
- semantic: IoU per class and mean IoU from the confusion matrix summed over the whole dataset
  (not the mean of per-image IoUs); the ignore class (e.g. 0 "unlabeled") is left out.
- instance: COCOeval "segm" (pycocotools) on all detections: AP, AP50, AP75 (maxDets 1/10/300).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken, ProgressFn, check, report
from maskwork.core.models.class_map import ClassMap
from maskwork.core.training import instance as inst
from maskwork.core.training import semantic as sem
from maskwork.core.training.datasets import TrainData, load_data, split_by_names
from maskwork.core.training.runner import make_predictor

CALIBRATION_IMAGES = 16  # int8 ranges from images spread over the evaluated ones


@dataclass
class EvalTable:
    task: str
    model: str
    data: str
    summary: dict
    per_image: list[dict] = field(default_factory=list)
    mapping: list[str] = field(default_factory=list)  # model classes -> data classes, matched by name

    def format(self) -> str:
        """Plain text for the CLI: summary lines, then one row per image if asked."""
        lines = [f"model {self.model} on {self.data} ({self.summary.get('images', 0)} images)"]
        lines += [f"  classes: {m}" for m in self.mapping]
        for k, v in self.summary.items():
            if isinstance(v, float):
                lines.append(f"  {k:<16} {v:.4f}")
            elif isinstance(v, dict):
                lines.append(f"  {k:<16} " + "  ".join(f"{n}={x:.4f}" for n, x in v.items()))
        if self.per_image:
            keys = [k for k in self.per_image[0] if k != "image"]
            lines.append("image\t" + "\t".join(keys))
            for row in self.per_image:
                lines.append(row["image"] + "\t" + "\t".join(_fmt(row[k]) for k in keys))
        return "\n".join(lines)


def _fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def evaluate(model: str, data, per_image: bool = False, progress: ProgressFn | None = None,
             cancel: CancelToken | None = None, device: str | None = None, max_images: int | None = None,
             only: list[str] | None = None, int8: bool = False, calibration=None) -> EvalTable:
    """`only`: image names or name prefixes to keep (e.g. ["tile7_"], the held-out aerial tile);
    `int8`: score the model's int8 version (or its int8 file) to see its accuracy drop, calibrated on
    `calibration` (a folder of images kept apart from the scored ones) or else on images spread over
    the scored ones (int8 ranges need no labels, but a held-out set keeps the score honest)."""
    ev = prepare(model, data, device, max_images, only, int8, cancel, calibration)
    run = _semantic if ev.task == "semantic" else _instance
    return run(ev, per_image, progress, cancel)


class Scored(Protocol):
    """What scoring reads of a predictor (core.models.predict.Predictor, its int8 twin, an ONNX one) besides
    predict()."""

    @property
    def classes(self) -> ClassList: ...


@dataclass
class Evaluation:
    """What scoring needs, whichever engine runs it (here, or Ray actors: core.cluster.evaluate_job)."""

    predictor: Scored
    float_model: object  # the torch float module an int8 predictor was built from (None otherwise)
    task: str
    label: str
    data: TrainData
    items: list
    cmap: ClassMap

    @property
    def num_classes(self) -> int:
        return max(max(self.data.classes.ids()), max(self.predictor.classes.ids())) + 1


def prepare(model: str, data, device: str | None = None, max_images: int | None = None,
            only: list[str] | None = None, int8: bool = False, cancel: CancelToken | None = None,
            calibration=None) -> Evaluation:
    if calibration is not None and not int8:
        raise InputError("a calibration folder is for the int8 model: add --int8, or leave out --calibration.")
    predictor = make_predictor(model, device)
    task = _task_of(predictor)
    d = data if isinstance(data, TrainData) else load_data(data, task)
    if only:
        d = split_by_names(d, only)[1]
    if d.task != task:
        raise InputError(f"{d.source} holds {d.task} labels but model {model} is a {task} model")
    items = d.items[:max_images] if max_images else d.items
    if not items:
        raise InputError(f"{d.source} has no labelled images to evaluate on")
    float_model = None
    if int8:
        from maskwork.core.models.int8.dispatch import int8_of

        if calibration is None:
            picked = items[:: max(1, len(items) // CALIBRATION_IMAGES)][:CALIBRATION_IMAGES]
            calibration = [it.image() for it in picked]
        float_model = getattr(predictor, "model", None)
        predictor = int8_of(predictor, calibration, cancel=cancel)
    label = f"{model} (int8)" if int8 or getattr(predictor, "int8", False) else model
    cmap = ClassMap(predictor.classes, d.classes)  # by name, not by number
    return Evaluation(predictor, float_model, task, str(label), d, items, cmap)


def _task_of(predictor) -> str:
    task = getattr(predictor, "task", None) or getattr(getattr(predictor, "spec", None), "task", None)
    if task not in ("semantic", "instance"):
        raise InputError(f"cannot tell whether model {predictor} is semantic or instance")
    return task


def _names(classes) -> dict:
    return {c.id: c.name for c in classes}


def semantic_confusion(predictor, item, cmap: ClassMap, n: int) -> np.ndarray:
    """One image's (n, n) confusion counts, rows = truth, in the data's class ids."""
    truth = item.label_map()
    pred = cmap.apply_label_map(predictor.predict(item.image()).label_map)
    if pred.shape != truth.shape:
        raise InputError(f"{item.name}: the model's label map is {pred.shape}, the truth is {truth.shape}")
    return sem.confusion(truth, pred, n)


def semantic_row(name: str, conf: np.ndarray, ignore_index: int | None) -> dict:
    s = sem.iou_from_confusion(conf, ignore_index)
    return {"image": name, "miou": s["miou"], "pixel_accuracy": s["pixel_accuracy"]}


def semantic_table(ev: Evaluation, images: int, total: np.ndarray, rows: list[dict]) -> EvalTable:
    """The summary of the summed confusion counts (the dataset's IoU, not the mean of images')."""
    d = ev.data
    s = sem.iou_from_confusion(total, d.ignore_index)
    classes = _names(d.classes)
    summary = {"images": images, "miou": s["miou"], "pixel_accuracy": s["pixel_accuracy"],
               "iou": {classes.get(c, str(c)): v for c, v in s["iou"].items()}, "confusion": total.tolist()}
    table = EvalTable("semantic", ev.label, d.source, summary, rows)
    table.mapping = ev.cmap.mapping_lines("dataset")
    return table


def instance_detections(predictor, img_id: int, item, cmap: ClassMap) -> list[dict]:
    """One image's COCO result records, in the data's class ids (model classes it lacks are dropped)."""
    return instance_records(predictor.predict(item.image(), score_threshold=0.0), img_id, cmap)


def instance_records(res, img_id: int, cmap: ClassMap) -> list[dict]:
    """An InstanceResult as COCO result records, in the data's class ids (model classes it lacks are dropped)."""
    keep = res.keep(0.0)
    ids, known = cmap.apply_class_ids(res.class_ids[keep])
    keep, ids = keep[known], ids[known]
    # RLE from each mask's crop: full-image masks of every detection down to score 0 cost more than the model
    return inst.box_detections(img_id, [res.masks[i] for i in keep], res.scores[keep], ids)


def instance_table(ev: Evaluation, gt_records: list, detections: list[list[dict]], per_image: bool) -> EvalTable:
    """COCO mask AP of per-image ground truth (core.training.instance.gt_records) and detections, in image order."""
    gt, _ = inst.gt_document(gt_records, ev.data.classes)
    dets = [d for image_dets in detections for d in image_dets]
    s = inst.coco_mask_ap(gt, dets, per_image=per_image)
    rows = [{"image": name, **v} for name, v in s.pop("per_image", {}).items()]
    table = EvalTable("instance", ev.label, ev.data.source, {"images": len(gt_records), **s}, rows)
    table.mapping = ev.cmap.mapping_lines("dataset")
    return table


def _semantic(ev: Evaluation, per_image, progress, cancel) -> EvalTable:
    n = ev.num_classes
    total = np.zeros((n, n), np.int64)
    rows = []
    for i, it in enumerate(ev.items):
        check(cancel)
        conf = semantic_confusion(ev.predictor, it, ev.cmap, n)
        total += conf
        if per_image:
            rows.append(semantic_row(it.name, conf, ev.data.ignore_index))
        report(progress, i + 1, len(ev.items), it.name)
    return semantic_table(ev, len(ev.items), total, rows)


def _instance(ev: Evaluation, per_image, progress, cancel) -> EvalTable:
    records = [inst.gt_records(img_id, it) for img_id, it in enumerate(ev.items, start=1)]
    detections = []
    for img_id, it in enumerate(ev.items, start=1):
        check(cancel)
        detections.append(instance_detections(ev.predictor, img_id, it, ev.cmap))
        report(progress, img_id, len(ev.items), it.name)
    return instance_table(ev, records, detections, per_image)
