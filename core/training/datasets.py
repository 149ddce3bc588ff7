"""Training data sources: a Maskwork project, a COCO JSON, or a folder of PNG label maps.

Every source yields a `TrainData`: the class list, the task, and `Item`s that load lazily
(an image is read when a batch needs it, so a large dataset costs no memory up front).

- semantic items: `item.image()` -> (H, W, 3) uint8 RGB, `item.label_map()` -> (H, W) uint8/uint16
- instance items: `item.image()`, `item.instances()` -> `Targets` (masks (N, H, W) bool, class ids, crowd flags)

`split(data, val_fraction, seed)` makes a fixed, seeded validation split; `select(data, names)` or
`split_by_names` take an explicit list (e.g. every image of one aerial tile).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from maskwork.core.domain.annotation import MAX_CLASSES, ClassList, ImageAnnotation
from maskwork.core.domain.errors import InputError
from maskwork.core.store import bounded
from maskwork.core.store.images import image_size, open_image, read_image
from maskwork.core.store.schemas import loads

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


@dataclass
class Targets:
    masks: np.ndarray  # (N, H, W) bool
    class_ids: np.ndarray  # (N,) int64
    iscrowd: np.ndarray  # (N,) bool


@dataclass
class Item:
    name: str
    image: Callable[[], np.ndarray]
    label_map: Callable[[], np.ndarray] | None = None
    instances: Callable[[], Targets] | None = None


@dataclass
class TrainData:
    task: str  # "semantic" | "instance"
    classes: ClassList
    items: list[Item]
    source: str = ""
    ignore_index: int | None = None  # label value that carries no loss (semantic)
    extra: dict = field(default_factory=dict)

    def names(self) -> list[str]:
        return [it.name for it in self.items]


def read_label_png(path: str | Path) -> np.ndarray:
    """Pixel values of a palette/grayscale PNG as class ids (palette index, not colour)."""
    try:
        with open_image(path, what="label map") as im:
            if im.mode not in ("P", "L", "I;16", "I"):
                raise InputError(f"label map {path} is {im.mode}, not a class-id PNG (palette or grayscale). "
                                 "Save masks as 8-bit palette or grayscale PNGs whose pixel value is the class id.")
            arr = np.asarray(im)
    except OSError as exc:
        raise InputError(f"cannot read label map {path}: {exc}") from exc
    return arr.astype(np.uint16 if arr.max(initial=0) > 255 else np.uint8)


# ---- COCO --------------------------------------------------------------------------------------

def from_coco(json_path: str | Path, image_dir: str | Path | None = None, task: str = "instance") -> TrainData:
    """COCO instances JSON. task="semantic" rasterises the instances into a label map (id = category).

    Read by core.formats.coco.load_coco, the importer's strict reader: every image is checked (inside the
    image folder, present, right size) before any mask is decoded, and a damaged RLE or polygon is
    refused instead of giving a different mask on every run."""
    from maskwork.core.formats.coco import load_coco, read_json

    json_path = Path(json_path)
    if not json_path.is_file():
        raise InputError(f"COCO file {json_path} does not exist")
    image_dir = Path(image_dir) if image_dir else _guess_image_dir(json_path, read_json(json_path))
    dataset = load_coco(json_path, image_dir)
    cats = sorted(dataset.classes, key=lambda c: c.id)
    classes = ClassList.from_names(["background"] + [c.name for c in cats])
    cat_to_class = {c.id: i + 1 for i, c in enumerate(cats)}
    items = []
    for ann in sorted(dataset.annotations, key=lambda a: _id_order(dataset.image_ids[a.file_name])):
        items.append(_coco_item(ann, image_dir / ann.file_name, cat_to_class, task))
    return TrainData(task, classes, items, source=str(json_path),
                     extra={"coco": str(json_path), "cat_to_class": cat_to_class})


def _id_order(image_id) -> tuple:
    """Items in image-id order (as pycocotools listed them), so seeded splits stay the same."""
    return (isinstance(image_id, str), image_id)


def _guess_image_dir(json_path: Path, doc) -> Path:
    from maskwork.core.formats.coco import image_in_folder, load_coco

    imgs = doc.get("images") if isinstance(doc, dict) else None
    first = imgs[0].get("file_name") if isinstance(imgs, list) and imgs and isinstance(imgs[0], dict) else None
    if not isinstance(first, str):  # no image list to look for: the COCO reader says what is wrong with the file
        load_coco(json_path, json_path.parent)
        return json_path.parent
    split = json_path.parent / json_path.stem.split("_")[-1]  # COCO's layout: instances_val2017.json + val2017/
    for cand in (json_path.parent / "images", json_path.parent / json_path.stem, split, json_path.parent):
        if isinstance(first, str) and image_in_folder(cand, first, json_path, "images[0]").is_file():
            return cand
    raise InputError(f"cannot find the images of {json_path} (looked in images/, {json_path.stem}/, "
                     f"{split.name}/ and next to it). Pass the image folder explicitly.")


def _coco_item(ann, path: Path, cat_to_class: dict, task: str) -> Item:
    h, w = ann.height, ann.width

    def targets() -> Targets:
        inst = ann.corrected.instances
        masks = np.zeros((len(inst), h, w), bool)
        for k, i in enumerate(inst):  # masks are decoded crops: paste them, no second decoding
            if not i.mask.is_empty:
                masks[k, i.mask.y0:i.mask.y1, i.mask.x0:i.mask.x1] = i.mask.crop
        return Targets(masks, np.asarray([cat_to_class[i.class_id] for i in inst], np.int64),
                       np.asarray([i.iscrowd for i in inst], bool))

    def label_map() -> np.ndarray:
        lm = np.zeros((h, w), np.uint8)
        by_size = sorted(ann.corrected.instances, key=lambda i: -i.mask.area)  # small objects on top
        for i in by_size:
            if not i.mask.is_empty:
                lm[i.mask.y0:i.mask.y1, i.mask.x0:i.mask.x1][i.mask.crop] = cat_to_class[i.class_id]
        return lm

    image = lambda: read_image(path)  # noqa: E731
    if task == "semantic":
        return Item(ann.file_name, image, label_map=label_map)
    return Item(ann.file_name, image, instances=targets)


# ---- PNG folders -------------------------------------------------------------------------------
def _classes_from_values(pairs: list[tuple[Path, Path]]) -> ClassList:
    """Without classes.json: a class per mask value present (0 = background), refused above MAX_CLASSES."""
    present: set[int] = {0}
    for _image, mask in pairs:
        values = np.unique(read_label_png(mask))
        if int(values[-1]) >= MAX_CLASSES:
            raise InputError(f"mask {mask} holds the value {int(values[-1])}, above the {MAX_CLASSES:,} classes "
                             "Maskwork trains; mask values are class ids: renumber the masks, or give a classes.json.")
        present.update(int(v) for v in values)
    return ClassList.from_list([{"id": v, "name": "background" if v == 0 else f"class {v}"} for v in sorted(present)])


def _checked(mask: Path, image: Path, limit: int, source: str) -> np.ndarray:
    """The label map of `image`, refused in one sentence when its size or values do not fit."""
    lm = read_label_png(mask)
    w, h = image_size(image)
    if lm.shape != (h, w):
        raise InputError(f"mask {mask} is {lm.shape[1]}x{lm.shape[0]} but its image {image.name} is {w}x{h}; "
                         "a mask must have its image's size. Fix or remove that pair.")
    top = int(lm.max(initial=0))
    if top >= limit:
        raise InputError(f"mask {mask} holds the value {top}, but the classes (from {source}) end at {limit - 1}; "
                         "add the class to classes.json or fix the mask.")
    return lm


def from_png_folder(folder: str | Path, images: str = "images", masks: str = "masks") -> TrainData:
    """`folder/images/*.jpg|png` with `folder/masks/<stem>.png` class-id maps; classes from classes.json."""
    folder = Path(folder)
    img_dir, mask_dir = folder / images, folder / masks
    if not img_dir.is_dir() or not mask_dir.is_dir():
        raise InputError(f"{folder} needs an '{images}/' and a '{masks}/' folder (label PNGs with the same stem)")
    classes_file = folder / "classes.json"
    pairs, missing = [], []
    for p in sorted(img_dir.iterdir()):
        if p.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        mp = mask_dir / (p.stem + ".png")
        if not mp.is_file():
            missing.append(p.name)
            continue
        pairs.append((p, mp))
    if not pairs:
        raise InputError(f"{folder}: no image in {images}/ has a label PNG in {masks}/")
    if classes_file.is_file():
        try:
            classes = ClassList.from_list(loads(bounded.read_text(classes_file, limit=bounded.SMALL_JSON,
                                                                  what="class list"), str(classes_file)))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{classes_file} is not a class list ([{{id, name, color}}...]): {exc}") from exc
        source = str(classes_file)
    else:
        classes = _classes_from_values(pairs[:20])
        source = f"the values of the first {min(len(pairs), 20)} masks (no classes.json)"
    limit = max(classes.ids(), default=0) + 1
    items = [Item(p.name, partial(read_image, p), label_map=partial(_checked, mp, p, limit, source)) for p, mp in pairs]
    return TrainData("semantic", classes, items, source=str(folder), ignore_index=classes.ignore_id(),
                     extra={"images_without_mask": missing})


# ---- Maskwork project --------------------------------------------------------------------------

def from_project(folder: str | Path, statuses: tuple[str, ...] = ("corrected", "done", "reviewed")) -> TrainData:
    """Images of a Maskwork project whose corrected layer is usable (status in `statuses`)."""
    from maskwork.core.store.project import Project

    project = Project.open(folder)
    task = project.task
    items = []
    for name in project.image_names():
        ann = project.annotation(name)
        status = getattr(ann.status, "value", ann.status)
        if str(status).lower() not in statuses or ann.corrected.is_empty():
            continue
        img = partial(project.image, name)
        if task == "semantic":
            if ann.corrected.label_map is None:
                continue
            items.append(Item(name, img, label_map=partial(_corrected_map, ann, name)))
        else:
            items.append(Item(name, img, instances=partial(layer_targets, ann)))
    if not items:
        raise InputError(f"project {folder} has no corrected images to train on (status {', '.join(statuses)}). "
                         "Correct and mark some images first.")
    # class 0 is learned when it is a real class ("background"), skipped when it means "not labeled"
    ignore = project.classes.ignore_id() if task == "semantic" else None
    return TrainData(task, project.classes.copy(), items, source=str(folder), ignore_index=ignore)


def _corrected_map(ann: ImageAnnotation, name: str) -> np.ndarray:
    """The corrected label map, read when training asks for it (the project's annotation, as it is then)."""
    if ann.corrected.label_map is None:
        raise InputError(f"{name}: its label map was removed while training read it; train again.")
    return ann.corrected.label_map


def layer_targets(ann) -> Targets:
    insts = ann.corrected.instances
    if not insts:
        return Targets(np.zeros((0, ann.height, ann.width), bool), np.zeros(0, np.int64), np.zeros(0, bool))
    return Targets(np.stack([i.mask.to_full() for i in insts]), np.asarray([i.class_id for i in insts], np.int64),
                   np.asarray([i.iscrowd for i in insts], bool))


# ---- entry point and splits --------------------------------------------------------------------

def load_data(spec: str | Path, task: str | None = None) -> TrainData:
    """Pick the source from the path: *.json -> COCO, a project folder, or an images/+masks/ folder."""
    p = Path(spec)
    if p.suffix.lower() == ".json":
        return from_coco(p, task=task or "instance")
    if (p / ".maskwork" / "project.json").is_file():  # not just .maskwork/: a window's lock makes that
        data = from_project(p)
    elif p.is_dir():
        data = from_png_folder(p)
    else:
        raise InputError(f"training data {p} not found: give a COCO .json, a Maskwork project folder or a folder "
                         "with images/ and masks/")
    if task and task != data.task:
        raise InputError(f"{p} holds {data.task} labels but the model is {task}; pick a matching architecture")
    return data


def select(data: TrainData, names) -> TrainData:
    names = set(names)
    return replace(data, items=[it for it in data.items if it.name in names])


def split(data: TrainData, val_fraction: float, seed: int = 0) -> tuple[TrainData, TrainData]:
    if not 0 < val_fraction < 1:
        raise InputError(f"validation fraction must be between 0 and 1, got {val_fraction}")
    order = list(range(len(data.items)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(order) * val_fraction))
    if n_val >= len(order):
        raise InputError(f"{len(order)} images are too few to hold out {val_fraction:.0%} for validation")
    val_idx = set(order[:n_val])
    return (replace(data, items=[it for i, it in enumerate(data.items) if i not in val_idx]),
            replace(data, items=[it for i, it in enumerate(data.items) if i in val_idx]))


def mix_items(items: list[Item], replay: list[Item], share: float) -> list[Item]:
    """A list to draw uniformly from in which `replay` items make up `share` of the draws (each item of a
    side equally likely), share taken as a fraction p/q with q <= 20: items repeated (q - p) x len(replay) times,
    replay ones p x len(items) times. Only references are repeated, no image is loaded."""
    if not replay or share <= 0 or not items:
        return list(items)
    if share >= 1:
        return list(replay)
    ratio = Fraction(share).limit_denominator(20)
    p, q = max(1, ratio.numerator), ratio.denominator
    return list(items) * ((q - p) * len(replay)) + list(replay) * (p * len(items))


def held_out_names(names: list[str], share: float) -> list[str]:
    """The images the train dialog holds out to score the start model and each epoch: round(share x n), at least
    one, spread evenly over `names` in their order (not by chance: the same images every run, so the before and
    after scores are on the same images); [] when fewer than 2 images leave nothing to train on."""
    n = len(names)
    if n < 2:
        return []
    k = min(n - 1, max(1, round(n * share)))
    return [names[int((j + 0.5) * n / k)] for j in range(k)]


def split_by_names(data: TrainData, val_names) -> tuple[TrainData, TrainData]:
    """Explicit hold-out; a name may be a prefix (e.g. "tile7_") to hold out a whole tile."""
    val_names = list(val_names)
    is_val = [any(it.name == v or it.name.startswith(v) for v in val_names) for it in data.items]
    if not any(is_val):
        raise InputError(f"none of the validation names {val_names[:5]} matches an image of {data.source}")
    return (replace(data, items=[it for it, v in zip(data.items, is_val) if not v]),
            replace(data, items=[it for it, v in zip(data.items, is_val) if v]))
