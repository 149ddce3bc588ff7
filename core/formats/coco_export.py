"""Write Maskwork annotations as COCO: dataset JSON (RLE or polygons) and detection results.

Area and bbox come from pycocotools (mask_utils.area / toBbox) so COCOeval sees exactly what it
computes itself. Polygons cannot express holes: they are dropped, counted, and the export report
gives the IoU of every re-rasterised polygon against its mask so the user sees what was lost.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from maskwork.core.domain.annotation import ClassList, ImageAnnotation, Instance, Layer
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.domain.progress import CancelToken, ProgressFn, check
from maskwork.core.domain.progress import report as report_progress
from maskwork.core.domain.text import plural
from maskwork.core.editing.box_ops import is_box_only

MODES = ("rle", "polygon")
LAYERS = ("corrected", "prediction")


@dataclass
class ExportReport:
    """What an export did, for the user: counts, polygon fidelity and warnings."""

    images: int = 0
    objects: int = 0
    polygon_ious: list[float] = field(default_factory=list)
    holes_dropped: int = 0          # objects whose holes a COCO polygon cannot hold
    kept_as_rle: int = 0            # crowd regions stay RLE in polygon mode (as in COCO itself)
    warnings: list[str] = field(default_factory=list)

    @property
    def mean_polygon_iou(self) -> float | None:
        return float(np.mean(self.polygon_ious)) if self.polygon_ious else None

    @property
    def min_polygon_iou(self) -> float | None:
        return float(np.min(self.polygon_ious)) if self.polygon_ious else None

    def summary(self) -> str:
        text = plural(self.images, "image") + (f", {plural(self.objects, 'object')}" if self.objects else "")
        if self.polygon_ious:
            text += (f"; polygons re-rasterised vs masks: mean IoU {self.mean_polygon_iou:.4f}, "
                     f"min {self.min_polygon_iou:.4f}")
        if self.holes_dropped:
            text += (f"; {self.holes_dropped} objects had holes that COCO polygons cannot express "
                     "(filled in the export; use RLE to keep them)")
        return text


def _layer(ann: ImageAnnotation, layer: str) -> Layer | None:
    if layer not in LAYERS:
        raise ValueError(f"layer must be one of {LAYERS}, not {layer!r}")
    return ann.corrected if layer == "corrected" else ann.prediction


def export_objects(ann: ImageAnnotation, layer: Layer) -> list[Instance]:
    """Instances, or one object per class present in a semantic label map (COCO-stuff style)."""
    if layer.instances or layer.label_map is None:
        return list(layer.instances)
    lm = layer.label_map
    return [Instance(id=n + 1, class_id=int(c), mask=Mask.from_full(lm == c))
            for n, c in enumerate(np.unique(lm)) if c != 0]


def traced_rings(mask: Mask) -> list[tuple[np.ndarray, int]]:
    """Every contour of a non-empty mask: (points (N, 2) in image pixels, index of the outer ring it is a hole
    of, or -1 for an outer ring).

    Contours are traced on the crop upsampled 2x and mapped back with (u + 0.5) / 2: with
    pycocotools' rasteriser this reproduces pixel masks exactly, where plain pixel-centre contours
    lose about half a pixel all around (IoU ~0.83 on nuclei)."""
    crop = np.pad(mask.crop.astype(np.uint8), 1)
    up = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    contours, hierarchy = cv2.findContours(up, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return [((c.reshape(-1, 2).astype(np.float64) + 0.5) / 2.0 - 1.0 + (mask.x0, mask.y0), int(h[3]))
            for c, h in zip(contours, hierarchy[0])]  # - 1.0 undoes the padding


def polygons(mask: Mask) -> tuple[list[list[float]], int]:
    """COCO polygons of a mask (its outer rings, traced_rings) and how many holes were dropped."""
    if mask.is_empty:
        return [], 0
    polys, holes = [], 0
    for pts, parent in traced_rings(mask):
        if parent != -1:
            holes += 1
            continue
        if len(pts) < 3:  # cannot happen on a 2x-upsampled mask (>= 4 corners); guard anyway
            continue
        polys.append([round(float(v), 2) for v in pts.ravel()])
    return polys, holes


def _coco_rle(mask: Mask) -> dict:
    """Compressed RLE of the full-size mask, built from the crop's columns only.

    Same bytes as Mask.to_rle(), without materialising the whole image per object (an export of
    thousands of small nuclei would otherwise encode thousands of full images)."""
    h, w = mask.shape
    if mask.is_empty:
        return mask_utils.frPyObjects({"size": [h, w], "counts": [h * w]}, h, w)
    strip = np.zeros((h, mask.crop.shape[1]), bool)  # the crop's columns, full height
    strip[mask.y0:mask.y1] = mask.crop
    flat = strip.ravel(order="F")
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate(([0], edges, [flat.size]))).tolist()
    if flat[0]:
        runs.insert(0, 0)  # COCO counts start with a run of zeros
    runs[0] += mask.x0 * h
    tail = (w - mask.x1) * h
    if len(runs) % 2:  # ends with zeros: extend that run
        runs[-1] += tail
    elif tail:
        runs.append(tail)
    return mask_utils.frPyObjects({"size": [h, w], "counts": runs}, h, w)


def _rle(mask: Mask) -> dict:
    rle = _coco_rle(mask)
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _segmentation(inst: Instance, mode: str, report: ExportReport) -> dict | list:
    if is_box_only(inst):
        return []  # a COCO bbox without segmentation (core/editing/box_ops.py); read back as a box
    if mode == "rle" or inst.iscrowd:
        if mode == "polygon":
            report.kept_as_rle += 1
        return _rle(inst.mask)
    polys, holes = polygons(inst.mask)
    report.holes_dropped += holes > 0
    if polys:
        report.polygon_ious.append(polygon_iou(inst.mask, polys))
    return polys


def polygon_iou(mask: Mask, polys: list[list[float]]) -> float:
    """IoU of the polygons re-rasterised by pycocotools vs the mask, in a window around the mask.

    The polygons lie within the mask's box, and the rasteriser is unchanged by whole-pixel shifts,
    so a padded window gives the full-image answer without decoding a full image per object."""
    pad = 2
    x0, y0 = mask.x0 - pad, mask.y0 - pad
    wh, ww = mask.crop.shape[0] + 2 * pad, mask.crop.shape[1] + 2 * pad
    shifted = [[v - (x0 if k % 2 == 0 else y0) for k, v in enumerate(p)] for p in polys]
    back = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(shifted, wh, ww))).astype(bool)
    window = mask.region(x0, y0, x0 + ww, y0 + wh)
    inter, union = np.count_nonzero(window & back), np.count_nonzero(window | back)
    return 1.0 if union == 0 else inter / union


def _area_bbox(inst: Instance, file_name: str) -> tuple[float, list[float]]:
    if inst.mask.is_empty:
        box = [float(v) for v in inst.box] if inst.box is not None else [0.0, 0.0, 0.0, 0.0]
        if not all(math.isfinite(v) for v in box):
            raise InputError(f"{file_name}: object {inst.id} is a box {box} with a value that is not a finite "
                             "number; nothing was written. Delete or redraw that object and export again.")
        return (box[2] * box[3] if is_box_only(inst) else 0.0), box  # a box's area: detection datasets' rule
    rle = _coco_rle(inst.mask)
    return float(mask_utils.area(rle)), [float(v) for v in mask_utils.toBbox(rle)]


def _image_ids(annotations: list[ImageAnnotation], image_ids: dict | None) -> tuple[dict[str, object], list[str]]:
    """An id per exported image, unique: kept ids (from the imported files) where no earlier image of the
    export has the same one, new ids for the rest. Returns the ids and the images whose kept id was taken
    (two imported COCO files that both number their images from 1)."""
    given = image_ids or {}
    ids: dict[str, object] = {}
    used: set = set()
    taken = []
    for ann in annotations:
        kept = given.get(ann.file_name)
        if kept is None or isinstance(kept, bool):
            continue
        if kept in used:
            taken.append(ann.file_name)
        else:
            ids[ann.file_name] = kept
            used.add(kept)
    next_id = max((v for v in used if isinstance(v, int)), default=0) + 1
    for ann in annotations:
        if ann.file_name not in ids:
            while next_id in used:
                next_id += 1
            ids[ann.file_name] = next_id
            used.add(next_id)
    return ids, taken


def coco_export(annotations: list[ImageAnnotation], classes: ClassList, mode: str = "rle",
                layer: str = "corrected", include_scores: bool = False, *, info: dict | None = None,
                licenses: list | None = None, image_extras: dict[str, dict] | None = None,
                image_ids: dict[str, object] | None = None, categories_extra: dict[int, dict] | None = None,
                progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> tuple[dict, ExportReport]:
    """A COCO dataset dict plus a report. Annotation ids are kept when unique across the export."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    report = ExportReport()
    ids, taken = _image_ids(annotations, image_ids)
    if taken:
        report.warnings.append(f"{plural(len(taken), 'image')} had an image id that another exported image "
                               f"already has (imported from files that number their images alike), so got a "
                               f"new id: {', '.join(taken[:5])}{' ...' if len(taken) > 5 else ''}")
    extras = image_extras or {}
    images: list[dict] = []
    out_anns: list[dict] = []
    per_image = [(ann, export_objects(ann, lay) if (lay := _layer(ann, layer)) is not None else [])
                 for ann in annotations]
    inst_ids = [i.id for _a, objs in per_image for i in objs]
    keep_ids = len(set(inst_ids)) == len(inst_ids)
    for k, (ann, objs) in enumerate(per_image):
        check(cancel)
        report_progress(progress, k, len(per_image), f"exporting {ann.file_name}")
        images.append({"id": ids[ann.file_name], "file_name": ann.file_name, "width": ann.width,
                       "height": ann.height, **extras.get(ann.file_name, {})})
        for inst in objs:
            area, bbox = _area_bbox(inst, ann.file_name)
            item = {"id": inst.id if keep_ids else len(out_anns) + 1, "image_id": ids[ann.file_name],
                    "category_id": inst.class_id, "segmentation": _segmentation(inst, mode, report),
                    "area": area, "bbox": bbox, "iscrowd": int(inst.iscrowd)}
            if include_scores and inst.score is not None:
                if math.isfinite(inst.score):
                    item["score"] = float(inst.score)
                else:  # JSON has no NaN: the object is kept, its unknown score left out
                    report.warnings.append(f"{ann.file_name}: object {inst.id} has the score {inst.score}; "
                                           "written without a score")
            out_anns.append(item)
    cat_extra = categories_extra or {}
    categories = [{"id": c.id, "name": c.name, **cat_extra.get(c.id, {}), "color": c.color} for c in classes
                  if not (c.id == 0 and c.name in ("background", "unlabeled", "__background__"))]
    report.images, report.objects = len(images), len(out_anns)
    report_progress(progress, len(per_image), len(per_image), "export ready")
    # ids that repeat across images (each image numbers its objects 1, 2, ...) are renumbered 1..N: that is
    # the normal case, not a warning the user must read
    data = {"info": dict(info or {}), "licenses": list(licenses or []), "images": images,
            "annotations": out_anns, "categories": categories}
    return data, report


def to_coco(annotations: list[ImageAnnotation], classes: ClassList, mode: str = "rle",
            layer: str = "corrected", include_scores: bool = False, **carry) -> dict:
    """COCO dataset dict (see coco_export for the carried-through fields and the report)."""
    return coco_export(annotations, classes, mode, layer, include_scores, **carry)[0]


def to_coco_results(annotations: list[ImageAnnotation], image_ids: dict[str, object] | None = None,
                    layer: str = "prediction", default_score: float = 1.0, with_bbox: bool = False) -> list[dict]:
    """The COCO detection-results list (for COCOeval / loadRes): RLE masks with scores.

    No "bbox" by default: given one, loadRes takes the object's area from the box instead of the
    mask, which moves objects between COCO's small/medium/large ranges in a segm evaluation."""
    ids, _taken = _image_ids(annotations, image_ids)
    results = []
    for ann in annotations:
        lay = _layer(ann, layer)
        for inst in [] if lay is None else export_objects(ann, lay):
            if inst.mask.is_empty:
                continue
            score = default_score if inst.score is None else inst.score
            item = {"image_id": ids[ann.file_name], "category_id": inst.class_id,
                    "segmentation": _rle(inst.mask), "score": float(score)}
            if with_bbox:
                item["bbox"] = [float(v) for v in inst.mask.bbox]
            results.append(item)
    return results
