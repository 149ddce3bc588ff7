"""Projects made from the real COCO data (nuclei val: RLE; coco_sample val: polygons and crowd RLE),
for the YOLO and labelme round trips: the source masks are what the exports are compared against."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from maskwork.core.cli import run
from maskwork.core.store.project import Project


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def images_only(src_json: Path, image_dir: Path, folder: Path) -> dict:
    """The images of a COCO file copied into folder (a project folder without annotations); the COCO doc."""
    doc = json.loads(src_json.read_text())
    folder.mkdir(parents=True)
    for img in doc["images"]:
        shutil.copy(image_dir / img["file_name"], folder / img["file_name"])
    return doc


def coco_project(src_json: Path, image_dir: Path, folder: Path) -> Project:
    """A project holding the COCO file's masks (imported by `main.py import`), opened read-only."""
    images_only(src_json, image_dir, folder)
    assert run(["import", str(src_json), str(folder)]) == 0
    return Project.open(folder, read_only=True)


def objects_by_image(project: Project, with_crowd: bool = False) -> dict[str, list]:
    return {n: [i for i in project.annotation(n).corrected.instances if with_crowd or not i.iscrowd]
            for n in project.image_names()}


def compare(source: Project, back: Project) -> tuple[list[float], int]:
    """Per-object mask IoU of back against source (same image, same order, same class name), and the
    number of source objects with holes (which polygons cannot hold)."""
    ious, holed = [], 0
    src, got = objects_by_image(source), objects_by_image(back)
    assert set(src) == set(got)
    for name, objs in src.items():
        assert len(got[name]) == len(objs), name
        for a, b in zip(objs, got[name]):
            assert source.classes.get(a.class_id).name == back.classes.get(b.class_id).name
            ious.append(a.mask.iou(b.mask))
            holed += has_hole(a.mask)
    return ious, holed


def has_hole(mask) -> bool:
    import cv2
    import numpy as np

    crop = np.pad(mask.crop.astype(np.uint8), 1)
    _c, hierarchy = cv2.findContours(crop, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return bool((hierarchy[0][:, 3] != -1).any())
