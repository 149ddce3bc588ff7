"""The comparison table: per image each model's score against the truth (where there is one), their
agreement with each other and their latency; per class and overall with B - A and a paired bootstrap
interval. Semantic: mIoU (per image; the dataset's from summed confusion counts). Instance: COCO mask AP
(pycocotools, the numbers of `evaluate --per-image`) and PQ at the display threshold."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from maskwork.core.comparison import bootstrap
from maskwork.core.comparison.data import has_truth
from maskwork.core.domain.masks import Mask
from maskwork.core.metrics.instances import match_instances
from maskwork.core.training import instance as inst
from maskwork.core.training import semantic as sem
from maskwork.core.training.evaluate import Evaluation, instance_table, semantic_row

SCORE_THRESHOLD = 0.5  # objects shown in the window: PQ and agreement count these
NO_DETECTIONS = {"ap": 0.0, "ap50": 0.0, "ap75": 0.0}


@dataclass
class ImageRow:
    image: str
    truth: bool
    a: float | None  # score against the truth (mIoU or mask AP); None without truth
    b: float | None
    disagreement: float  # 1 - agreement of A with B (pixels, or PQ of A's objects against B's)
    a_ms: float
    b_ms: float
    details: dict = field(default_factory=dict)  # metric -> [a, b]

    @property
    def diff(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass
class Comparison:
    task: str
    metric: str  # the dataset's score: mIoU or mask AP
    class_metric: str  # per class: IoU or mask AP
    a_label: str
    b_label: str
    data: str
    rows: list[ImageRow]
    overall: dict  # {"a", "b", "diff", "interval", "verdict", "images_with_truth", + other metrics}
    per_class: list[dict]  # {"class", "a", "b", "diff", "interval"}
    cost: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def sorted_rows(self, by: str = "disagreement") -> list[ImageRow]:
        """"disagreement" (most first: where correcting helps most), "difference" (B's worst losses first)."""
        if by == "difference":
            return sorted(self.rows, key=lambda r: (r.diff is None, r.diff if r.diff is not None else 0.0,
                                                     -r.disagreement))
        if by == "name":
            return sorted(self.rows, key=lambda r: r.image)
        return sorted(self.rows, key=lambda r: -r.disagreement)

    def losses(self, margin: float = 0.0) -> list[str]:
        """Images where B scores below A (by more than `margin`): the ones to review."""
        return [r.image for r in self.rows if r.diff is not None and r.diff < -margin]


def _nan_to_none(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


# ---- semantic ---------------------------------------------------------------------------------------

def semantic_comparison(ev_a: Evaluation, ev_b: Evaluation, preds_a: list[dict], preds_b: list[dict]) -> Comparison:
    data = ev_a.data
    n = max(ev_a.num_classes, ev_b.num_classes)
    rows, conf_a, conf_b = [], [], []
    for item, pa, pb in zip(ev_a.items, preds_a, preds_b):
        la, lb = pa["label_map"], pb["label_map"]
        row = ImageRow(item.name, has_truth(item), None, None, float(np.mean(la != lb)), pa["latency_ms"],
                       pb["latency_ms"])
        if row.truth:
            truth = item.label_map()
            ca, cb = sem.confusion(truth, la, n), sem.confusion(truth, lb, n)
            conf_a.append(ca)
            conf_b.append(cb)
            sa, sb = semantic_row(item.name, ca, data.ignore_index), semantic_row(item.name, cb, data.ignore_index)
            row.a, row.b = sa["miou"], sb["miou"]
            row.details["pixel_accuracy"] = [sa["pixel_accuracy"], sb["pixel_accuracy"]]
        rows.append(row)
    names = {c.id: c.name for c in data.classes}
    overall: dict = {"images_with_truth": len(conf_a)}
    per_class: list[dict] = []
    if conf_a:
        ta, tb = np.stack(conf_a), np.stack(conf_b)
        sa = sem.iou_from_confusion(ta.sum(0), data.ignore_index)
        sb = sem.iou_from_confusion(tb.sum(0), data.ignore_index)
        intervals = bootstrap.confusion_difference_intervals(ta, tb, data.ignore_index)
        overall.update(a=sa["miou"], b=sb["miou"], diff=sb["miou"] - sa["miou"], interval=intervals.get("miou"),
                       pixel_accuracy=[sa["pixel_accuracy"], sb["pixel_accuracy"]])
        for c in sorted(set(sa["iou"]) | set(sb["iou"])):
            a, b = sa["iou"].get(c), sb["iou"].get(c)
            per_class.append({"class": names.get(c, str(c)), "a": a, "b": b,
                              "diff": None if a is None or b is None else b - a, "interval": intervals.get(c)})
    overall["verdict"] = bootstrap.verdict(ev_a.label, ev_b.label, overall.get("interval"))
    return Comparison("semantic", "mIoU", "IoU", ev_a.label, ev_b.label, data.source, rows, overall, per_class)


# ---- instance ---------------------------------------------------------------------------------------

def _shown(records: list[dict]) -> tuple[list[Mask], list[int]]:
    kept = [r for r in records if r["score"] >= SCORE_THRESHOLD]
    return [Mask.from_rle(r["segmentation"]) for r in kept], [int(r["category_id"]) for r in kept]


def _pq(gt: tuple[list[Mask], list[int]], pred: tuple[list[Mask], list[int]]) -> float:
    if not gt[0] and not pred[0]:
        return 1.0  # nothing on either side: they agree
    return match_instances(gt[0], pred[0], 0.5, gt[1], pred[1]).panoptic_quality


def instance_comparison(ev_a: Evaluation, ev_b: Evaluation, preds_a: list[dict], preds_b: list[dict]) -> Comparison:
    data = ev_a.data
    rows: list[ImageRow] = []
    records: list[tuple[dict, list[dict]]] = []
    dets_a: list[list[dict]] = []
    dets_b: list[list[dict]] = []
    for item, pa, pb in zip(ev_a.items, preds_a, preds_b):
        shown_a, shown_b = _shown(pa["detections"]), _shown(pb["detections"])
        row = ImageRow(item.name, has_truth(item), None, None, 1.0 - _pq(shown_a, shown_b), pa["latency_ms"],
                       pb["latency_ms"])
        if row.truth:
            img_id = len(records) + 1  # 1, 2, ... over the images with truth, as `evaluate` numbers them
            image, anns = inst.gt_records(img_id, item)
            records.append((image, anns))
            dets_a.append([dict(d, image_id=img_id) for d in pa["detections"]])
            dets_b.append([dict(d, image_id=img_id) for d in pb["detections"]])
            truth = ([Mask.from_rle(a["segmentation"]) for a in anns if not a["iscrowd"]],
                     [int(a["category_id"]) for a in anns if not a["iscrowd"]])
            row.details["pq"] = [_pq(truth, shown_a), _pq(truth, shown_b)]
        rows.append(row)
    overall: dict = {"images_with_truth": len(records)}
    per_class: list[dict] = []
    if records:
        table_a = instance_table(ev_a, records, dets_a, per_image=True)
        table_b = instance_table(ev_b, records, dets_b, per_image=True)
        by_name_a = {r["image"]: r for r in table_a.per_image}
        by_name_b = {r["image"]: r for r in table_b.per_image}
        for row in rows:
            if row.truth:
                # a model without a single detection gets no per-image rows from COCOeval: 0 everywhere
                ra, rb = by_name_a.get(row.image, NO_DETECTIONS), by_name_b.get(row.image, NO_DETECTIONS)
                row.a, row.b = ra["ap"], rb["ap"]
                row.details.update(ap50=[ra["ap50"], rb["ap50"]], ap75=[ra["ap75"], rb["ap75"]])
        sa, sb = table_a.summary, table_b.summary
        truth_rows = [r for r in rows if r.truth]
        ap_a, ap_b = [r.a or 0.0 for r in truth_rows], [r.b or 0.0 for r in truth_rows]
        interval = bootstrap.mean_difference_interval(ap_a, ap_b)
        pq_a, pq_b = ([r.details["pq"][k] for r in truth_rows] for k in (0, 1))
        overall.update(a=sa["ap"], b=sb["ap"], diff=sb["ap"] - sa["ap"], interval=interval,
                       interval_of="mean per-image mask AP", ap50=[sa["ap50"], sb["ap50"]],
                       ap75=[sa["ap75"], sb["ap75"]], pq=[float(np.nanmean(pq_a)), float(np.nanmean(pq_b))],
                       pq_interval=bootstrap.mean_difference_interval(pq_a, pq_b))
        for name in sorted(set(sa.get("ap_per_class", {})) | set(sb.get("ap_per_class", {}))):
            a, b = sa.get("ap_per_class", {}).get(name), sb.get("ap_per_class", {}).get(name)
            per_class.append({"class": name, "a": a, "b": b, "diff": None if a is None or b is None else b - a,
                              "interval": None})
    overall["verdict"] = bootstrap.verdict(ev_a.label, ev_b.label, overall.get("interval"))
    return Comparison("instance", "mask AP", "mask AP", ev_a.label, ev_b.label, data.source, rows, overall, per_class)


COMPARE = {"semantic": semantic_comparison, "instance": instance_comparison}


def as_dict(c: Comparison, sort: str = "disagreement") -> dict:
    """JSON-ready; rows in the requested order."""
    rows = [{"image": r.image, "truth": r.truth, "a": r.a, "b": r.b, "diff": r.diff,
             "disagreement": r.disagreement, "a_ms": r.a_ms, "b_ms": r.b_ms, **r.details}
            for r in c.sorted_rows(sort)]
    overall = {k: _nan_to_none(v) for k, v in c.overall.items()}
    return {"task": c.task, "metric": c.metric, "class_metric": c.class_metric, "a": c.a_label, "b": c.b_label,
            "data": c.data, "overall": overall, "per_class": c.per_class, "images": rows, "cost": c.cost,
            "notes": c.notes, "sorted_by": sort}


def _f(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def format_text(c: Comparison, sort: str = "disagreement", limit: int | None = None) -> str:
    o = c.overall
    lines = [f"A = {c.a_label}", f"B = {c.b_label}", f"on {c.data}: {len(c.rows)} images, "
             f"{o['images_with_truth']} with truth",
             f"{c.metric}: A {_f(o.get('a'))}  B {_f(o.get('b'))}  B - A {_f(o.get('diff'))}",
             f"  {o['verdict']}"]
    lines += [f"  {note}" for note in c.notes]
    if c.per_class:
        lines.append(f"per class ({c.class_metric})\tA\tB\tB - A")
        lines += [f"  {p['class']}\t{_f(p['a'])}\t{_f(p['b'])}\t{_f(p['diff'])}" for p in c.per_class]
    lines.append(f"image (by {sort})\tA\tB\tB - A\tdisagreement\tA ms\tB ms")
    for r in c.sorted_rows(sort)[:limit]:
        lines.append(f"{r.image}\t{_f(r.a)}\t{_f(r.b)}\t{_f(r.diff)}\t{r.disagreement:.4f}\t{r.a_ms:.1f}\t{r.b_ms:.1f}")
    return "\n".join(lines)
