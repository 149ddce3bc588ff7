"""Timings of the I/O paths: `python -m bench.bench_io` (publishes a section of docs/BENCHMARKS.md).

- opening a 5,000-image project (names only) and the first access to one annotation;
- saving / autosaving one edited image of that project (a 12 MP label map, or 300 instances);
- COCO: reading nuclei val.json (100 images, 4,056 RLE masks) and writing it as RLE / polygons;
- decoding real images (aerial JPEG, nuclei PNG).
Targets: opening and saving one image must feel instant (< 0.5 s); autosave must not stall the GUI.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from bench.common import DATASETS, Row, machine, machine_line, ms_text, table, time_it, under_load_note, update_section
from maskwork.core.domain.annotation import ClassList, Instance
from maskwork.core.formats.coco import load_coco
from maskwork.core.formats.coco_export import coco_export
from maskwork.core.store.images import read_image
from maskwork.core.store.project import Project

N_IMAGES = 5000


def _big_project(tmp: Path) -> Project:
    """5,000 names (links to one real aerial image) and one saved annotation."""
    src = sorted((DATASETS / "aerial" / "images").glob("*.jpg"))[0]
    for k in range(N_IMAGES):
        os.symlink(src, tmp / f"img_{k:05d}.jpg")
    project = Project.create(tmp, ClassList.from_names(["unlabeled", "building", "land", "road", "veg", "water"]))
    return project


def run() -> list[Row]:
    rows: list[Row] = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_io_"))
    try:
        _big_project(tmp)
        t = time_it(lambda: Project.open(tmp).image_names(), runs=5, warmup=1)
        rows.append(Row(f"open a {N_IMAGES}-image project + list names", ms_text(t), "< 500 ms", t.median < 500))
        t = time_it(lambda: Project.open(tmp).annotation("img_02500.jpg"), runs=5, warmup=1)
        rows.append(Row("open + first annotation (header-only size)", ms_text(t), "< 500 ms", t.median < 500))

        project = Project.open(tmp)
        ann = project.annotation("img_00001.jpg")
        ann.width, ann.height = 4000, 3000  # a 12 MP label map with real class structure
        small = np.array(Image.open(DATASETS / "aerial" / "masks" / "tile1_001.png"))  # class ids
        ann.corrected.label_map = cv2.resize(small, (4000, 3000), interpolation=cv2.INTER_NEAREST)

        def edit_and_save():
            ann.corrected.label_map[100:200, 100:200] ^= 1
            project.mark_dirty("img_00001.jpg")
            project.save(["img_00001.jpg"])

        def edit_and_autosave():
            ann.corrected.label_map[100:200, 100:200] ^= 1
            project.mark_dirty("img_00001.jpg")
            project.autosave()

        t = time_it(edit_and_save, runs=5, warmup=1)
        rows.append(Row("save one 12 MP label map (atomic, fsync)", ms_text(t), "< 500 ms", t.median < 500))
        t = time_it(edit_and_autosave, runs=5, warmup=1)
        rows.append(Row("autosave one 12 MP label map", ms_text(t), "< 500 ms", t.median < 500))

        nuclei = load_coco(DATASETS / "nuclei" / "val.json")
        masks = [i.mask for a in nuclei.annotations for i in a.corrected.instances][:300]
        inst_ann = project.annotation("img_00002.jpg")
        inst_ann.width, inst_ann.height = masks[0].width, masks[0].height
        inst_ann.corrected.instances = [Instance(k + 1, 1, m) for k, m in enumerate(masks)]
        rows.append(_time_save(project, "img_00002.jpg", "save one image with 300 instances"))

        path = DATASETS / "nuclei" / "val.json"
        t = time_it(lambda: load_coco(path), runs=3, warmup=1)
        rows.append(Row("load_coco nuclei val (100 images, 4,056 RLE)", ms_text(t), "", None))
        for mode in ("rle", "polygon"):
            t = time_it(lambda m=mode: coco_export(nuclei.annotations, nuclei.classes, m), runs=3, warmup=1)
            rows.append(Row(f"to_coco {mode} nuclei val", ms_text(t), "", None))
        for label, img in (("aerial JPEG", next((DATASETS / "aerial" / "images").glob("tile7*.jpg"))),
                           ("nuclei PNG", next((DATASETS / "nuclei" / "images").glob("*.png")))):
            shape = read_image(img).shape
            t = time_it(lambda p=img: read_image(p), runs=10, warmup=2)
            rows.append(Row(f"read_image {label} {shape[1]}x{shape[0]}", ms_text(t), "", None))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def _time_save(project: Project, name: str, label: str) -> Row:
    def go():
        project.mark_dirty(name)
        project.save([name])

    t = time_it(go, runs=5, warmup=1)
    return Row(label, ms_text(t), "< 500 ms", t.median < 500)


def main() -> None:
    info = machine()
    rows = run()
    print(table(rows))
    body = "\n\n".join([machine_line(info), under_load_note(info["load"], info["cores"]), table(rows),
                        "Run: `python -m bench.bench_io`. Store format and atomic save: "
                        "docs/adr/0001-project-store.md."])
    update_section("I/O and project store", body)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
