"""What two models are compared on: labelled data (COCO JSON, images/ + masks/), a Maskwork project (its
corrected images are the truth, the others are compared without one), or a folder of images (no truth:
the ranking by disagreement is the list of images to correct first)."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.errors import InputError
from maskwork.core.training.datasets import IMAGE_SUFFIXES, Item, TrainData, load_data


def model_facts(model: str) -> tuple[str, ClassList]:
    """The model's task (semantic or instance) and classes, from the registry or the checkpoint's header (no
    torch, no weights)."""
    path = Path(model)
    if path.is_file() and path.suffix == ".pt":
        from maskwork.core.models.catalog.headers import read_header

        header = read_header(path)
        task, classes = header.get("task"), ClassList.from_list(header.get("classes") or [])
    else:
        from maskwork.core.models.catalog.registry import get_model

        spec = get_model(model)
        task, classes = spec.task, spec.classes
    if task not in ("semantic", "instance"):
        raise InputError(f"cannot tell whether model {model} is semantic or instance")
    return task, classes


def load_compare_data(spec: str | Path, task: str, model_classes: ClassList) -> TrainData:
    """Items with truth where there is one (`item.label_map` / `item.instances` None where there is not).
    Images without any truth are scored in model A's classes."""
    p = Path(spec)
    if (p / ".maskwork" / "project.json").is_file():
        return _from_project(p, task)
    if p.suffix.lower() == ".json" or (p / "masks").is_dir():
        return load_data(p, task)
    if p.is_dir():
        return _from_image_folder(p, task, model_classes)
    raise InputError(f"{p} not found: give a Maskwork project, a COCO .json, a folder with images/ and masks/, "
                     "or a folder of images")


def _from_project(folder: Path, task: str) -> TrainData:
    from maskwork.core.store.project import Project
    from maskwork.core.training.datasets import layer_targets

    project = Project.open(folder, read_only=True)
    if project.task != task:
        raise InputError(f"{folder} is a {project.task} project but the models are {task} models")
    items = []
    for name in project.image_names():
        ann = project.annotation(name)
        status = str(getattr(ann.status, "value", ann.status)).lower()
        corrected = status in ("corrected", "done", "reviewed") and not ann.corrected.is_empty()
        image = partial(project.image, name)
        if not corrected:
            items.append(Item(name, image))
        elif task == "semantic":
            items.append(Item(name, image, label_map=partial(_label_map, ann)))
        else:
            items.append(Item(name, image, instances=partial(layer_targets, ann)))
    if not items:
        raise InputError(f"project {folder} has no images to compare the models on")
    ignore = project.classes.ignore_id() if task == "semantic" else None
    return TrainData(task, project.classes.copy(), items, source=str(folder), ignore_index=ignore)


def _label_map(ann) -> np.ndarray:
    return ann.corrected.label_map


def _from_image_folder(folder: Path, task: str, classes: ClassList) -> TrainData:
    from maskwork.core.store.images import read_image

    files = sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
    if not files:
        raise InputError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    items = [Item(f.name, partial(read_image, f)) for f in files]
    ignore = classes.ignore_id() if task == "semantic" else None
    return TrainData(task, classes.copy(), items, source=str(folder), ignore_index=ignore)


def has_truth(item: Item) -> bool:
    return item.label_map is not None or item.instances is not None
