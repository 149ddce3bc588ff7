"""Read COCO instance-segmentation JSON into Maskwork annotations, checking every item.

Polygons (merged per object), compressed and uncompressed RLE and crowd regions are decoded with
pycocotools. Every problem raises InputError naming the file and the item (image id / annotation
id) and saying what to do. Licences, info and per-image extra fields (license, flickr_url, ...)
are kept so that an export carries them through. Writing lives in core.formats.coco_export.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Callable

import numpy as np
from pycocotools import mask as mask_utils

from maskwork.core.domain.annotation import (
    DEFAULT_COLORS,
    MAX_CLASSES,
    MAX_OBJECTS_PER_IMAGE,
    ClassList,
    ImageAnnotation,
    Instance,
    Layer,
    Source,
    Status,
)
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.domain.progress import CancelToken, ProgressFn, check, report
from maskwork.core.formats.coco_values import check_bbox, check_score
from maskwork.core.store import bounded
from maskwork.core.store.images import MAX_PIXELS, image_size
from maskwork.core.store.schemas import loads

IMAGE_KEYS = ("id", "file_name", "width", "height")
MAX_SIDE = 100_000  # larger "images" are a typo in the JSON, not a real image
# pycocotools draws a polygon's edges in 1/5-pixel steps: 5M steps (a 1M-pixel outline, ~100 MB
# while it runs) is far above any real object and keeps a hostile polygon cheap
MAX_POLYGON_STEPS = 5_000_000
MAX_CLASS_ID = 65535  # label maps are uint16 (core.domain.annotation); larger ids cannot be painted or exported


@dataclass
class CocoDataset:
    """A COCO file as Maskwork sees it; `image_ids`/`image_extras` are keyed by file_name."""

    path: Path
    classes: ClassList
    annotations: list[ImageAnnotation]
    image_ids: dict[str, int] = field(default_factory=dict)
    image_extras: dict[str, dict] = field(default_factory=dict)
    licenses: list = field(default_factory=list)
    info: dict = field(default_factory=dict)
    categories_extra: dict[int, dict] = field(default_factory=dict)  # supercategory etc. by id
    warnings: list[str] = field(default_factory=list)

    def carry(self) -> dict:
        """Keyword arguments for core.formats.coco_export.to_coco that carry this file's metadata through."""
        return {"info": self.info, "licenses": self.licenses, "image_extras": self.image_extras,
                "image_ids": self.image_ids, "categories_extra": self.categories_extra}


def _fail(path: Path, where: str, what: str, todo: str) -> InputError:
    return InputError(f"{path}: {where}: {what}. {todo}")


def read_json(path: Path) -> object:
    try:
        raw = bounded.read_bytes(path, limit=bounded.DATASET_JSON, what="COCO file")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}. Check the path and permissions.") from exc
    if not raw.strip():
        raise InputError(f"{path} is empty; it is not a COCO JSON file. Export it again from its source.")
    try:
        return loads(raw, str(path))  # depth-limited: a [[[[... file is refused, not a RecursionError
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start}); is it really a JSON file?") from exc
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(raw.rstrip()) - 1 or exc.msg.startswith("Unterminated")
        hint = "; the file ends early: it was probably truncated while copying" if truncated else ""
        raise InputError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}){hint}. "
                         "Fix the file or export it again.") from exc


def _int(value, path: Path, where: str, key: str, minimum: int | None = None) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value != int(value)):
        raise _fail(path, where, f"'{key}' is {value!r}, not a whole number", "Fix that value in the file.")
    if minimum is not None and value < minimum:
        raise _fail(path, where, f"'{key}' is {value!r}, below {minimum}", "Fix that value in the file.")
    return int(value)


def _require(item, keys, path: Path, where: str) -> dict:
    if not isinstance(item, dict):
        raise _fail(path, where, f"expected a JSON object, found {type(item).__name__}", "Fix the file.")
    missing = [k for k in keys if k not in item]
    if missing:
        raise _fail(path, where, f"missing key(s) {', '.join(map(repr, missing))}",
                    "Every COCO item needs them; fix or re-export the file.")
    return item


def _classes(doc: dict, path: Path) -> tuple[ClassList, dict[int, dict]]:
    cats = doc.get("categories")
    if not isinstance(cats, list):
        raise _fail(path, "top level", "'categories' must be a list", "Add the list of categories.")
    if len(cats) > MAX_CLASSES:
        raise _fail(path, "categories", f"{len(cats):,} categories, more than the {MAX_CLASSES:,} classes Maskwork "
                    "accepts", "Check that it is the right file, or keep only the categories you annotate.")
    classes, extra = ClassList(), {}
    for n, cat in enumerate(cats):
        where = f"categories[{n}]"
        _require(cat, ("id", "name"), path, where)
        cid = _int(cat["id"], path, where, "id", minimum=0)
        if cid > MAX_CLASS_ID:
            raise _fail(path, where, f"category id {cid} is above {MAX_CLASS_ID}, the largest class id a label map "
                        "can hold", "Renumber the categories from 1.")
        color = cat.get("color")
        if not (isinstance(color, str) and len(color) == 7 and color.startswith("#")):
            color = DEFAULT_COLORS[n % len(DEFAULT_COLORS)]
        try:
            classes.add(str(cat["name"]), color, cid)
        except ValueError as exc:
            raise _fail(path, f"category id {cid}", str(exc), "Category ids and names must be unique.") from exc
        extra[cid] = {k: v for k, v in cat.items() if k not in ("id", "name", "color")}
    return classes, extra


def _raster_steps(poly: list[float]) -> int:
    """How many boundary points pycocotools' rleFrPoly allocates for a polygon (it draws each edge
    in 1/5-pixel steps, about 20 bytes each): computed before it runs, so that it can be bounded."""
    xy = np.trunc(np.asarray(poly, np.float64).reshape(-1, 2) * 5 + 0.5)  # C's (int)(5 * v + .5)
    step = np.abs(xy - np.roll(xy, -1, axis=0)).max(axis=1)
    return int(step.sum()) + len(step)


def _polygon_masks(seg: list, h: int, w: int, path: Path, where: str) -> list[Mask]:
    """Each polygon rasterised by pycocotools (the reference COCOeval uses) as a compact RLE, then
    decoded inside its own bounding box: no array of the image's size is ever made."""
    masks, steps = [], 0
    for k, poly in enumerate(seg):
        if not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2:
            raise _fail(path, where, f"polygon {k} must be a flat list of at least 3 x,y pairs",
                        "Fix the polygon or remove the annotation.")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in poly):
            raise _fail(path, where, f"polygon {k} holds a value that is not a finite number",
                        "Fix the coordinates.")
        # pycocotools' rasteriser works in time proportional to the coordinates and crashes on huge
        # ones; a point farther out than the image's own size is a mistake in the file anyway
        margin = max(h, w)
        far = next(((x, y) for x, y in zip(poly[0::2], poly[1::2])
                    if not (-margin <= x <= w + margin and -margin <= y <= h + margin)), None)
        if far is not None:
            raise _fail(path, where, f"polygon {k} has the point {far}, far outside the {w}x{h} image",
                        "Fix the coordinates (they are in pixels of this image).")
        steps += _raster_steps(poly)
        if steps > MAX_POLYGON_STEPS:
            raise _fail(path, where, f"its polygons are more than {MAX_POLYGON_STEPS // 5:,} pixels long in all "
                        f"(polygon {k} ends past that), far more than any object outline",
                        "Simplify the polygons (fewer, shorter edges) or store the mask as RLE.")
        rle = mask_utils.frPyObjects([[float(v) for v in poly]], h, w)[0]
        masks.append(Mask.from_rle(rle))
    return masks


def _union(masks: list[Mask], h: int, w: int) -> Mask:
    """Pixel-wise OR of masks (what pycocotools' merge does), inside their joint bounding box."""
    masks = [m for m in masks if not m.is_empty]
    if not masks:
        return Mask.empty(h, w)
    if len(masks) == 1:
        return masks[0]
    x0, y0 = min(m.x0 for m in masks), min(m.y0 for m in masks)
    x1, y1 = max(m.x1 for m in masks), max(m.y1 for m in masks)
    canvas = np.zeros((y1 - y0, x1 - x0), bool)
    for m in masks:
        canvas[m.y0 - y0:m.y1 - y0, m.x0 - x0:m.x1 - x0] |= m.crop
    return Mask.from_crop(h, w, x0, y0, canvas)


def _rle(seg: dict, h: int, w: int, path: Path, where: str) -> dict:
    _require(seg, ("size", "counts"), path, where + " segmentation")
    size, counts = seg["size"], seg["counts"]
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size)):
        raise _fail(path, where, f"RLE 'size' is {size!r}, expected [height, width]", "Fix the RLE.")
    if list(size) != [h, w]:
        raise _fail(path, where, f"mask size {size[0]}x{size[1]} (h x w) does not match its image ({h}x{w})",
                    "The mask belongs to another image or the image entry has the wrong size; fix one of them.")
    if isinstance(counts, list):
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts):
            raise _fail(path, where, "RLE counts must be non-negative whole numbers", "Fix the RLE.")
        if sum(counts) != h * w:
            raise _fail(path, where, f"RLE counts add up to {sum(counts)} pixels, the image has {h * w}",
                        "The RLE is damaged or belongs to another image size.")
        return {"size": [h, w], "counts": counts}
    if isinstance(counts, str):
        try:
            return {"size": [h, w], "counts": counts.encode("ascii")}
        except UnicodeEncodeError as exc:
            raise _fail(path, where, f"compressed RLE counts cannot be read ({exc})", "Fix the RLE.") from exc
    raise _fail(path, where, f"RLE counts is a {type(counts).__name__}", "Use a string or a list of integers.")


def decode_segmentation(seg, h: int, w: int, path: Path, where: str) -> Mask:
    """A COCO segmentation (polygons, RLE, crowd RLE) of an h x w image as a Mask, checked.

    The one decoder of COCO masks in Maskwork (import, iou, train, evaluate). Memory is bounded by
    the object's bounding box, never the image's size; images above the pixel limit are refused."""
    if h < 1 or w < 1 or h > MAX_SIDE or w > MAX_SIDE or h * w > MAX_PIXELS:
        raise _fail(path, where, f"its image is {w}x{h} pixels, outside 1..{MAX_PIXELS // 10**6} MP",
                    "Split such images into tiles (or fix the image size if it is a typo).")
    try:
        if isinstance(seg, list):
            return _union(_polygon_masks(seg, h, w, path, where), h, w)
        if isinstance(seg, dict):
            return Mask.from_rle(_rle(seg, h, w, path, where))  # fills only the object's box
    except (ValueError, TypeError) as exc:
        raise _fail(path, where, f"the mask cannot be decoded ({exc})", "Fix the RLE.") from exc
    raise _fail(path, where, f"'segmentation' is a {type(seg).__name__}",
                "Use polygons (list of lists) or an RLE object.")


def _images(doc: dict, path: Path, image_dir: Path | None) -> list[dict]:
    images = doc.get("images")
    if not isinstance(images, list):
        raise _fail(path, "top level", "'images' must be a list", "A COCO dataset file lists its images.")
    seen_ids, seen_names = set(), set()
    for n, img in enumerate(images):
        _require(img, IMAGE_KEYS, path, f"images[{n}]")
        iid = img["id"]
        where = f"image id {iid!r}"
        if isinstance(iid, bool) or not isinstance(iid, (int, str)):
            raise _fail(path, f"images[{n}]", f"'id' is {iid!r}", "Image ids must be numbers or strings.")
        for key in ("width", "height"):
            v = _int(img[key], path, where, key, minimum=1)
            if v > MAX_SIDE:
                raise _fail(path, where, f"'{key}' is {v}, larger than any real image", "Fix the image size.")
        if int(img["width"]) * int(img["height"]) > MAX_PIXELS:
            raise _fail(path, where, f"{img['width']}x{img['height']} is above the {MAX_PIXELS // 10**6} MP limit",
                        "Split such images into tiles (or fix the size if it is a typo).")
        name = img["file_name"]
        if not isinstance(name, str) or not name:
            raise _fail(path, where, f"'file_name' is {name!r}", "Give the image's file name.")
        if iid in seen_ids:
            raise _fail(path, where, "the image id is used twice", "Image ids must be unique.")
        if name in seen_names:
            raise _fail(path, where, f"file {name!r} is listed twice", "List each image once.")
        seen_ids.add(iid)
        seen_names.add(name)
        if image_dir is not None:
            _check_image_file(image_in_folder(image_dir, name, path, where), int(img["width"]),
                              int(img["height"]), path, where)
    return images


def image_in_folder(folder: Path, name: str, path: Path, where: str) -> Path:
    """folder / name for a file name read from a COCO file, refused unless it stays inside folder
    (a file from anyone may say "/etc/passwd" or "../../x.png"). Symlinks the user put there are theirs."""
    for form in (PurePosixPath(name), PurePosixPath(name.replace("\\", "/")), PureWindowsPath(name)):
        if form.is_absolute() or form.anchor or ".." in form.parts or "\0" in name:
            raise _fail(path, where, f"'file_name' {name!r} points outside the image folder {folder}",
                        "File names must be relative paths inside that folder (no leading '/', no '..'); "
                        "fix the file name.")
    return Path(folder) / name


def _check_found_images(images: list[dict], find_image, path: Path) -> None:
    """Every listed image is found (e.g. in the project folder) with its size, before any mask is
    decoded: a tiny file listing huge images that are not there is refused at once."""
    files, missing = {}, []
    for img in images:
        file = find_image(img["file_name"])
        if file is None:
            missing.append(img["file_name"])
        else:
            files[img["file_name"]] = (file, img)
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InputError(f"{path}: {len(missing)} image(s) are not in the project folder: "
                         f"{', '.join(map(str, missing[:5]))}{more}. Nothing was imported; copy the images there "
                         "first.")
    for file, img in files.values():
        w, h = int(img["width"]), int(img["height"])
        real_w, real_h = image_size(file)  # header only; an image above the pixel limit is refused there
        if (real_w, real_h) != (w, h):
            raise InputError(f"{path}: the masks of {img['file_name']} (image id {img['id']!r}) are for an image that "
                             f"is {w}x{h} but the image is {real_w}x{real_h} pixels. Nothing was imported; use masks "
                             "made for these images.")


def _check_image_file(file: Path, w: int, h: int, path: Path, where: str) -> None:
    if not file.is_file():
        raise _fail(path, where, f"image file {file} does not exist",
                    "Put the images in that folder or give the folder that holds them.")
    real_w, real_h = image_size(file)  # header only; an image above the pixel limit is refused there
    if (real_w, real_h) not in ((w, h), (h, w)):
        raise _fail(path, where, f"the JSON says {w}x{h} but {file} is {real_w}x{real_h} pixels",
                    "The JSON belongs to other images or the image was resized; use matching files.")


def load_coco(json_path: str | Path, image_dir: str | Path | None = None,
              progress: ProgressFn | None = None, cancel: CancelToken | None = None,
              find_image: Callable[[str], Path | None] | None = None) -> CocoDataset:
    """Read and check a COCO instances file; masks become the corrected layer (Source.PERSON).

    With `image_dir` (images at image_dir/file_name) or `find_image` (file_name -> path or None, e.g.
    a project's own matching) every image must exist with its size before any mask is decoded."""
    path = Path(json_path)
    doc = read_json(path)
    if isinstance(doc, list):
        raise InputError(f"{path} is a list: a COCO detection-results file, not a dataset with images and "
                         "categories. Give the dataset (ground-truth) JSON instead.")
    if not isinstance(doc, dict):
        raise InputError(f"{path} holds a JSON {type(doc).__name__}, not a COCO dataset object.")
    classes, cat_extra = _classes(doc, path)
    images = _images(doc, path, None if image_dir is None else Path(image_dir))
    if find_image is not None:
        _check_found_images(images, find_image, path)
    by_id = {img["id"]: img for img in images}
    layers: dict = {img["id"]: Layer() for img in images}
    # A missing key is an image-info file (COCO's test sets) or a damaged one, and with --overwrite it
    # would wipe every listed image: refused. An explicit [] is kept: a dataset of images without objects.
    if "annotations" not in doc:
        raise _fail(path, "top level", "there is no 'annotations' list (an image-info file, not annotations)",
                    "Give the instances file, or add \"annotations\": [] if the images really have no objects.")
    anns = doc["annotations"]
    if not isinstance(anns, list):
        raise _fail(path, "top level", "'annotations' must be a list", "Fix the file.")
    seen = set()
    for n, ann in enumerate(anns):
        if n % 200 == 0:
            check(cancel)
            report(progress, n, len(anns), f"reading masks of {path.name}")
        _require(ann, ("image_id", "category_id", "segmentation"), path, f"annotations[{n}]")
        aid = ann.get("id", n + 1)
        where = f"annotation id {aid!r} (annotations[{n}])"
        if isinstance(aid, bool) or not isinstance(aid, int):
            raise _fail(path, where, f"'id' is {aid!r}", "Annotation ids must be whole numbers.")
        if aid in seen:
            raise _fail(path, where, "the annotation id is used twice", "Annotation ids must be unique.")
        seen.add(aid)
        iid = ann["image_id"]
        if isinstance(iid, bool) or not isinstance(iid, (int, str)) or iid not in by_id:
            raise _fail(path, where, f"it points at image id {iid!r}, which is not in 'images'",
                        "Add the image entry or remove the annotation.")
        cid = ann["category_id"]
        if isinstance(cid, bool) or not isinstance(cid, int) or cid not in classes:
            raise _fail(path, where, f"unknown category id {cid!r} (known: {classes.ids()})",
                        "Add the category to 'categories' or fix the id.")
        if len(layers[iid].instances) >= MAX_OBJECTS_PER_IMAGE:
            raise _fail(path, where, f"image id {iid!r} has more than {MAX_OBJECTS_PER_IMAGE:,} annotations, the most "
                        "Maskwork accepts for one image", "Check that it is the right file.")
        img = by_id[iid]
        mask = decode_segmentation(ann["segmentation"], int(img["height"]), int(img["width"]), path, where)
        box = check_bbox(ann.get("bbox"), path, where, box_only=mask.is_empty)
        box = box if mask.is_empty else None  # box-only annotation: keep the box (else export recomputes it)
        layers[iid].instances.append(Instance(
            id=aid, class_id=cid, mask=mask, box=box, source=Source.PERSON, iscrowd=bool(ann.get("iscrowd", 0)),
            score=check_score(ann.get("score"), path, where)))
    licenses, info = doc.get("licenses"), doc.get("info")
    result = CocoDataset(path=path, classes=classes, annotations=[], categories_extra=cat_extra,
                         licenses=licenses if isinstance(licenses, list) else [],
                         info=info if isinstance(info, dict) else {})
    for key, value, kind in (("licenses", licenses, list), ("info", info, dict)):
        if value is not None and not isinstance(value, kind):
            result.warnings.append(f"{path}: '{key}' is not a {kind.__name__} and was left out")
    for img in images:
        name = img["file_name"]
        layer = layers[img["id"]]
        result.annotations.append(ImageAnnotation(
            file_name=name, width=int(img["width"]), height=int(img["height"]), corrected=layer,
            status=Status.CORRECTED if layer.instances else Status.NOT_STARTED))
        result.image_ids[name] = img["id"]
        result.image_extras[name] = {k: v for k, v in img.items() if k not in IMAGE_KEYS}
    report(progress, len(anns), len(anns), f"read {path.name}")
    return result


def masks_as_array(ann: ImageAnnotation) -> np.ndarray:
    """(N, H, W) bool of the corrected instances, for metrics and tests."""
    inst = ann.corrected.instances
    out = np.zeros((len(inst), ann.height, ann.width), bool)
    for k, i in enumerate(inst):
        out[k] = i.mask.to_full()
    return out


__all__ = ["CocoDataset", "decode_segmentation", "image_in_folder", "load_coco", "read_json", "masks_as_array"]


def __getattr__(name: str):
    """to_coco / to_coco_results / save_json_atomic live in their own modules; reachable here too."""
    if name in ("to_coco", "coco_export", "to_coco_results", "ExportReport"):
        from maskwork.core.formats import coco_export

        return getattr(coco_export, name)
    if name == "save_json_atomic":
        from maskwork.core.store.atomic import save_json_atomic

        return save_json_atomic
    raise AttributeError(name)
