"""core.formats.project_io: imports into projects that already have their own classes or task."""
from __future__ import annotations

import shutil

import numpy as np

from maskwork.core.domain.annotation import ClassList
from maskwork.core.formats import png
from maskwork.core.formats.coco import load_coco
from maskwork.core.formats.coco_project import import_coco
from maskwork.core.formats.png_project import import_png_folder
from maskwork.core.formats.project_io import select_images
from maskwork.core.store.project import Project


def test_png_import_remaps_to_the_projects_class_ids(aerial_dir, tmp_path):
    src = sorted((aerial_dir / "images").glob("*.jpg"))[7]
    shutil.copy(src, tmp_path / src.name)
    masks = tmp_path / "masks"
    masks.mkdir()
    shutil.copy(aerial_dir / "masks" / (src.stem + ".png"), masks / (src.stem + ".png"))
    shutil.copy(aerial_dir / "classes.json", masks / "classes.json")
    mine = ClassList.from_names(["unlabeled", "water", "building"], ["#000000", "#0000FF", "#FF0000"])
    project = Project.create(tmp_path, mine, task="semantic")
    report = import_png_folder(project, masks)
    assert project.image_names() == [src.name]  # the masks/ folder inside the project is not images
    theirs = png.read_classes_json(masks / "classes.json")
    assert report.class_remap == {theirs.by_name("building").id: 2, theirs.by_name("water").id: 1,
                                  **{c.id: project.classes.by_name(c.name).id for c in theirs
                                     if c.name in ("land", "road", "vegetation")}}
    original = png.read_label_png(masks / (src.stem + ".png"))
    got = project.annotation(src.name).corrected.label_map
    for c in theirs:  # every pixel keeps its class by name
        assert np.array_equal(got == project.classes.by_name(c.name).id, original == c.id)
    assert project.classes.get(1).color == "#0000FF"  # the project's own colours stay


def test_coco_into_a_semantic_project_paints_label_maps(nuclei_val, tmp_path):
    ds = load_coco(nuclei_val)
    ann = min(ds.annotations, key=lambda a: a.width * a.height)
    shutil.copy(nuclei_val.parent / "images" / ann.file_name, tmp_path / ann.file_name)
    project = Project.create(tmp_path, ClassList.from_names(["background", "nucleus"]), task="semantic")
    ds.annotations = [ann]
    report = import_coco(project, ds)
    assert report.class_remap == {} and "painted" in report.warnings[0]
    lm = project.annotation(ann.file_name).corrected.label_map
    union = np.zeros(ann.shape, bool)
    for inst in ann.corrected.instances:
        union |= inst.mask.to_full()
    assert np.array_equal(lm == 1, union) and set(np.unique(lm)) <= {0, 1}


def test_select_images_by_glob(aerial_dir, tmp_path):
    for src in sorted((aerial_dir / "images").glob("tile1_00[1-3].jpg")):
        shutil.copy(src, tmp_path / src.name)
    project = Project.open(tmp_path)
    assert select_images(project, ["tile1_00[12].jpg"]) == ["tile1_001.jpg", "tile1_002.jpg"]
    assert select_images(project, None) == project.image_names()
