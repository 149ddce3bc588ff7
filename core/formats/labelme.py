"""labelme JSON (one .json per image): import into a project and export from it.

Checked against labelme 7.1.0's loader (labelme/_label_file.py, read_label_file) and rasteriser
(labelme/_utils/shape.py, shapes_to_label): a file has `version`, `flags`, `shapes`, `imagePath`
(relative to the .json), `imageData` (base64 image or null; Maskwork writes null and never needs it),
`imageHeight`, `imageWidth`. A shape has `label`, `points` ([[x, y], ...]), `shape_type`, `group_id`,
`flags`, `description` and `mask`: for shape_type "mask" a base64 PNG of the box-sized mask whose
top-left corner is points[0] (points = the box corners, inclusive).

Import, as labelme's own shapes_to_label: polygons are drawn by PIL (fill and outline: points are
pixel centres); polygon and mask shapes with the same (label, group_id) are one instance (no
group_id: each shape its own); rectangles become box-only objects (as COCO box-only objects); circle,
line, linestrip, point, points and oriented_rectangle shapes are skipped and counted. The file's
image-level `flags` {"reviewed": true|false} sets the image's reviewed mark (core/store/review.py).
Export: each object as polygons of its pixel-centre outlines (one per part, sharing a group_id),
which PIL redraws exactly; an object with holes (or a part too thin for a polygon) as one "mask"
shape, which labelme 7.1.0 reads back (_load_shape_json_obj decodes it); box-only objects as
rectangles (labelme's `shape_type: rectangle`, corners (x, y), (x + w, y + h) as labelme2coco reads
them); crowd regions are skipped and counted. Once the project marks any image reviewed, every file
says so in its image-level `flags` ({"reviewed": true|false}: labelme shows image flags as check
boxes), as COCO export writes it in the image's attributes (ADR 0013); a reviewed image without
objects gets a file with no shapes (a person checked it holds nothing).
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import math
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from maskwork.core.domain.annotation import MAX_CLASSES, MAX_OBJECTS_PER_IMAGE, ClassList, Instance, Layer, Source
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.domain.progress import CancelToken, ProgressFn
from maskwork.core.domain.progress import report as report_progress
from maskwork.core.formats.coco_export import ExportReport, export_objects
from maskwork.core.formats.label_files import (
    LabelFile,
    build_and_write,
    find_label_files,
    finish_import,
    image_matcher,
    layer_of,
    real_size,
    refuse_two_files_for_one_image,
    refuse_unmatched,
)
from maskwork.core.formats.steps import ImportReport, strict_json_bytes
from maskwork.core.store import bounded, review
from maskwork.core.store.project import Project
from maskwork.core.store.schemas import loads

VERSION = "7.1.0"  # the labelme whose loader these files were checked against
SKIPPED_TYPES = ("circle", "line", "linestrip", "point", "points", "oriented_rectangle")
MAX_ROW_SPANS = 5_000_000  # PIL's polygon fill costs rows x edges: far above any real outline


def _fail(path: Path, where: str, what: str) -> InputError:
    return InputError(f"{path}: {where}: {what}. Nothing was imported; fix the file or export it again from labelme.")


def _read(path: Path) -> dict:
    try:
        doc = loads(bounded.read_bytes(path, limit=bounded.DATASET_JSON, what="labelme file"), str(path))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}. Check the path and permissions.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise InputError(f"{path} is not valid JSON{where}; fix the file or save it again in labelme.") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
        raise _fail(path, "top level", "there is no 'shapes' list, so this is not a labelme file")
    if len(doc["shapes"]) > MAX_OBJECTS_PER_IMAGE:
        raise _fail(path, "shapes", f"{len(doc['shapes']):,} shapes, more than the {MAX_OBJECTS_PER_IMAGE:,} objects "
                    "Maskwork accepts for one image")
    if not isinstance(doc.get("imagePath"), str) or not doc["imagePath"]:
        raise _fail(path, "top level", f"'imagePath' is {doc.get('imagePath')!r}, not the image's file name")
    for key in ("imageWidth", "imageHeight"):
        v = doc.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise _fail(path, "top level", f"'{key}' is {v!r}, not a whole number of pixels")
    return doc


def _image_name(project: Project, path: Path, doc: dict, match) -> tuple[str | None, str | None]:
    """The project image a file is for: its imagePath (relative to the .json) when that lands on a
    project image, else the file's own stem matched as for other label files."""
    target = (path.parent / doc["imagePath"].replace("\\", "/")).resolve()
    try:
        rel = target.relative_to(project.root.resolve()).as_posix()
    except ValueError:
        rel = None
    if rel in set(project.image_names()):
        return rel, None
    return match(os.path.splitext(doc["imagePath"].replace("\\", "/"))[0])


def _points(shape: dict, path: Path, where: str, w: int, h: int) -> np.ndarray:
    pts = shape.get("points")
    if not (isinstance(pts, list) and pts and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                        and math.isfinite(v) for v in p) for p in pts)):
        raise _fail(path, where, "'points' must be a list of [x, y] pairs of finite numbers")
    xy = np.asarray(pts, np.float64)
    margin = max(w, h)  # a point farther out than the image's own size is a mistake in the file
    if (xy < -margin).any() or (xy[:, 0] > w + margin).any() or (xy[:, 1] > h + margin).any():
        raise _fail(path, where, f"a point lies far outside the {w}x{h} image")
    return xy


def draw_polygon(xy: np.ndarray, w: int, h: int) -> Mask:
    """labelme's rasterisation (PIL polygon, fill and outline) inside the polygon's box only."""
    x0, y0 = max(int(np.floor(xy[:, 0].min())) - 1, 0), max(int(np.floor(xy[:, 1].min())) - 1, 0)
    x1, y1 = min(int(np.ceil(xy[:, 0].max())) + 2, w), min(int(np.ceil(xy[:, 1].max())) + 2, h)
    if x1 <= x0 or y1 <= y0:
        return Mask.empty(h, w)
    canvas = Image.new("L", (x1 - x0, y1 - y0), 0)
    ImageDraw.Draw(canvas).polygon([(x - x0, y - y0) for x, y in xy.tolist()], outline=1, fill=1)
    return Mask.from_crop(h, w, x0, y0, np.asarray(canvas, bool))


def _mask_shape(shape: dict, xy: np.ndarray, path: Path, where: str, w: int, h: int) -> Mask:
    try:
        data = base64.b64decode(shape.get("mask") or "", validate=True)
        with Image.open(io.BytesIO(data)) as im:
            if im.width > w or im.height > h:  # header only: a hostile PNG is refused before decoding
                raise _fail(path, where, f"its mask is {im.width}x{im.height}, larger than the {w}x{h} image")
            patch = np.asarray(im.convert("L")) > 0
    except (binascii.Error, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise _fail(path, where, f"'mask' is not a base64 PNG ({exc})") from exc
    x, y = (int(round(v)) for v in xy[0])
    xs, ys = max(x, 0), max(y, 0)
    xe, ye = min(x + patch.shape[1], w), min(y + patch.shape[0], h)
    if xe <= xs or ye <= ys:
        return Mask.empty(h, w)
    return Mask.from_crop(h, w, xs, ys, patch[ys - y:ye - y, xs - x:xe - x])


def _union(masks: list[Mask], h: int, w: int) -> Mask:
    full = [m for m in masks if not m.is_empty]
    if not full:
        return Mask.empty(h, w)
    x0, y0 = min(m.x0 for m in full), min(m.y0 for m in full)
    canvas = np.zeros((max(m.y1 for m in full) - y0, max(m.x1 for m in full) - x0), bool)
    for m in full:
        canvas[m.y0 - y0:m.y1 - y0, m.x0 - x0:m.x1 - x0] |= m.crop
    return Mask.from_crop(h, w, x0, y0, canvas)


def read_shapes(path: Path, doc: dict, w: int, h: int, class_ids: dict[str, int],
                skipped: dict[str, int]) -> list[Instance]:
    """The instances of one labelme file, every shape checked first."""
    groups: dict[tuple, dict] = {}
    for n, shape in enumerate(doc["shapes"]):
        where = f"shapes[{n}]"
        if not isinstance(shape, dict) or not isinstance(shape.get("label"), str):
            raise _fail(path, where, "a shape must be an object with a 'label' text")
        kind = shape.get("shape_type", "polygon")  # labelme < 4 wrote no shape_type: polygons
        gid = shape.get("group_id")
        if gid is not None and (isinstance(gid, bool) or not isinstance(gid, int)):
            raise _fail(path, where, f"'group_id' is {gid!r}, not a whole number or null")
        if kind in SKIPPED_TYPES:
            skipped[kind] = skipped.get(kind, 0) + 1
            continue
        if kind not in ("polygon", "rectangle", "mask"):
            raise _fail(path, where, f"unknown shape_type {kind!r} (labelme has polygon, rectangle, mask, "
                        f"{', '.join(SKIPPED_TYPES)})")
        xy = _points(shape, path, where, w, h)
        if kind in ("rectangle", "mask") and len(xy) != 2:
            raise _fail(path, where, f"a {kind} has 2 points (its corners), not {len(xy)}")
        if kind == "polygon" and len(xy) < 3:
            skipped["polygon of fewer than 3 points"] = skipped.get("polygon of fewer than 3 points", 0) + 1
            continue
        spans = (np.abs(np.diff(xy[:, 1], append=xy[:1, 1])).sum() + len(xy)) * len(xy) if kind == "polygon" else 0
        if spans > MAX_ROW_SPANS:
            raise _fail(path, where, "the polygon is far longer than any object outline; simplify it")
        key = (shape["label"], gid) if gid is not None else (shape["label"], "shape", n)
        group = groups.setdefault(key, {"masks": [], "boxes": []})
        if kind == "rectangle":
            group["boxes"].append(xy)
        else:
            mask = draw_polygon(xy, w, h) if kind == "polygon" else _mask_shape(shape, xy, path, where, w, h)
            group["masks"].append(mask)
    instances = []
    for (label, *_), group in groups.items():
        if group["masks"]:
            skipped["rectangle grouped with a mask (box taken from the mask)"] = (
                skipped.get("rectangle grouped with a mask (box taken from the mask)", 0) + len(group["boxes"]))
            instances.append(Instance(0, class_ids[label], _union(group["masks"], h, w), source=Source.PERSON))
        else:
            xy = np.concatenate(group["boxes"])
            (bx0, by0), (bx1, by1) = xy.min(axis=0), xy.max(axis=0)
            instances.append(Instance(0, class_ids[label], Mask.empty(h, w), box=(bx0, by0, bx1 - bx0, by1 - by0)))
    return instances


def import_labelme(project: Project, source: str | Path, overwrite: bool = False,
                   task: str | None = None, progress: ProgressFn | None = None) -> ImportReport:
    """A labelme .json, or a folder of them (subfolders too), into the corrected layers; all or nothing."""
    source = Path(source)
    files = [source] if source.is_file() else find_label_files(source, ".json") if source.is_dir() else []
    if not files:
        raise InputError(f"{source} is neither a labelme .json file nor a folder holding some.")
    match = image_matcher(project)
    docs: list[tuple[Path, dict, str]] = []
    problems: list[str] = []
    claims: dict[str, list[str]] = {}
    for f in files:
        doc = _read(f)
        name, why = _image_name(project, f, doc, match)
        if name is None:
            problems.append(f"{f.name} (imagePath {doc['imagePath']!r}) {why}")
            continue
        claims.setdefault(name, []).append(str(f.relative_to(source) if source.is_dir() else f.name))
        docs.append((f, doc, name))
    refuse_unmatched(source, project, problems)
    refuse_two_files_for_one_image(source, claims)
    labels = list(dict.fromkeys(s["label"] for _f, d, _n in docs for s in d["shapes"]
                                if isinstance(s, dict) and isinstance(s.get("label"), str)))
    if len(labels) > MAX_CLASSES:
        raise InputError(f"{source}: the labelme files use {len(labels):,} different labels, more than the "
                         f"{MAX_CLASSES:,} classes Maskwork accepts; check the labels.")
    classes = ClassList()
    for k, label in enumerate(labels):
        classes.add(label, None, k + 1)
    class_ids = {c.name: c.id for c in classes}
    loaded: list[LabelFile] = []
    skipped: dict[str, int] = {}
    for k, (f, doc, name) in enumerate(docs):
        if k:  # files read so far (a refusal of the first file prints nothing but its sentence)
            report_progress(progress, k, len(docs), f.name)
        w, h = real_size(project, name)
        if (doc.get("imageWidth") or w, doc.get("imageHeight") or h) != (w, h):
            raise InputError(f"{f}: 'imageWidth' x 'imageHeight' is {doc.get('imageWidth')}x{doc.get('imageHeight')} "
                             f"but the image {name} is {w}x{h} pixels. Nothing was imported; the file belongs to "
                             "another image or the image was resized: use matching files.")
        loaded.append(LabelFile(f, name, w, h, read_shapes(f, doc, w, h, class_ids, skipped)))
    report_progress(progress, len(docs), len(docs), "")
    report = finish_import(project, loaded, classes, source, overwrite, task)
    for _f, doc, name in docs:
        reviewed = reviewed_flag(doc)
        if reviewed is not None:  # the mark our own export wrote (or a "reviewed" flag set in labelme)
            review.set_reviewed(project, [name], reviewed)
    report.warnings += [f"{n} {kind} shape(s) skipped" for kind, n in skipped.items() if n]
    return report


def reviewed_flag(doc: dict) -> bool | None:
    """The image-level `flags` {"reviewed": true|false} of a labelme file; None when absent (or not a
    true/false value: labelme's own flags are check boxes)."""
    flags = doc.get("flags")
    value = flags.get(review.KEY) if isinstance(flags, dict) else None
    return value if isinstance(value, bool) else None


# ---- export --------------------------------------------------------------------------------------
def outlines(mask: Mask) -> tuple[list[np.ndarray], bool]:
    """Pixel-centre outlines of the mask's parts, and whether it needs a mask shape instead (holes, or a
    part thinner than a polygon)."""
    crop = np.pad(mask.crop.astype(np.uint8), 1)
    contours, hierarchy = cv2.findContours(crop, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    parts, needs_mask = [], False
    for contour, (_n, _p, _child, parent) in zip(contours, hierarchy[0]):
        pts = contour.reshape(-1, 2) - 1 + (mask.x0, mask.y0)
        needs_mask |= parent != -1 or len(pts) < 3
        parts.append(pts)
    return parts, needs_mask


def _shape(label: str, points, kind: str, group_id=None, mask=None) -> dict:
    return {"label": label, "points": [[float(x), float(y)] for x, y in points], "group_id": group_id,
            "description": "", "shape_type": kind, "flags": {}, "mask": mask}


def _png_b64(crop: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(crop.astype(np.uint8)).save(buf, format="PNG")  # 0/1 as labelme writes its masks
    return base64.b64encode(buf.getvalue()).decode("ascii")


def object_shapes(inst: Instance, label: str, report: ExportReport, counts: dict[str, int]) -> list[dict]:
    m = inst.mask
    if m.is_empty:
        x, y, bw, bh = inst.bbox
        return [_shape(label, [(x, y), (x + bw, y + bh)], "rectangle")]
    parts, needs_mask = outlines(m)
    if needs_mask:
        counts["mask"] += 1
        return [_shape(label, [(m.x0, m.y0), (m.x1 - 1, m.y1 - 1)], "mask", mask=_png_b64(m.crop))]
    back = _union([draw_polygon(p.astype(np.float64), m.width, m.height) for p in parts], m.height, m.width)
    report.polygon_ious.append(m.iou(back))
    gid = inst.id if len(parts) > 1 else None
    counts["split"] += len(parts) > 1
    return [_shape(label, p.tolist(), "polygon", gid) for p in parts]


def export_labelme(project: Project, out: str | Path, names: list[str] | None = None, layer: str = "corrected",
                   include_scores: bool = False, progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None) -> ExportReport:
    """OUT/<image path without extension>.json per image with objects; imagePath relative to it."""
    out = Path(out)
    if out.is_file():
        raise InputError(f"{out} is a file; labelme files are written into a folder (the project folder puts "
                         "them beside the images, as labelme does). Give a folder.")
    names = project.image_names() if names is None else names
    report, counts = ExportReport(), {"crowd": 0, "mask": 0, "split": 0}
    marks = review.reviewed_names(project)

    def build(name, ann):
        lay = layer_of(ann, layer)
        if (lay is None or lay.is_empty()) and name not in marks:
            return {}
        lay = lay if lay is not None else Layer()
        shapes = []
        for inst in export_objects(ann, lay):
            if inst.class_id not in project.classes:
                raise InputError(f"{name}: object {inst.id} has class id {inst.class_id}, which is not in the class "
                                 "list; nothing was written. Give it a class and export again.")
            if inst.iscrowd:
                counts["crowd"] += 1
                continue
            shapes += object_shapes(inst, project.classes.get(inst.class_id).name, report, counts)
            report.objects += 1
        report.images += 1
        target = out / (os.path.splitext(name)[0] + ".json")
        image_path = Path(os.path.relpath(project.image_path(name), target.parent)).as_posix()
        flags = {review.KEY: name in marks} if marks else {}
        doc = {"version": VERSION, "flags": flags, "shapes": shapes, "imagePath": image_path, "imageData": None,
               "imageHeight": ann.height, "imageWidth": ann.width}
        return {target: strict_json_bytes(doc, str(target))}

    build_and_write(project, names, build, progress, cancel)
    texts = {"crowd": "crowd regions were left out (labelme has no crowd flag)",
             "mask": "objects with holes or one-pixel-thin parts were written as 'mask' shapes",
             "split": "objects in several parts were written as several polygons sharing a group_id"}
    report.warnings += [f"{n} {texts[k]}" for k, n in counts.items() if n]
    return report
