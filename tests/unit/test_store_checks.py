"""The store never writes an annotation whose class is not in the class list (core/store/store_checks.py)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from maskwork.core.domain.annotation import ClassList, Instance, Layer
from maskwork.core.domain.masks import Mask
from maskwork.core.formats.coco import load_coco
from maskwork.core.store.project import Project
from maskwork.core.store.store_checks import UndefinedClassError


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def aerial(tmp_path, aerial_dir):
    """A saved semantic project (aerial classes 0-5) with two real images and their true label maps."""
    folder = tmp_path / "aerial"
    folder.mkdir()
    from PIL import Image

    truth = {}
    for src in sorted((aerial_dir / "images").glob("*.jpg"))[:2]:
        shutil.copy(src, folder / src.name)
        truth[src.name] = np.asarray(Image.open(aerial_dir / "masks" / (src.stem + ".png")))
    classes = ClassList.from_list(json.loads((aerial_dir / "classes.json").read_text()))
    project = Project.create(folder, classes, "semantic")
    for name, lm in truth.items():
        project.annotation(name).corrected.label_map = lm.copy()
        project.mark_dirty(name)
    project.save()
    return folder, truth


def test_label_map_with_an_undefined_class_is_refused_before_anything_is_written(aerial):
    folder, truth = aerial
    project = Project.open(folder)
    first, second = sorted(truth)
    project.annotation(first).corrected.label_map[5:9, 5:9] = 4  # fine: vegetation
    project.mark_dirty(first)
    project.classes.add("crater", "#ff00ff")                    # the class list changes too (project.json)
    project.annotation(second).corrected.label_map[10:12, 20:30] = 9  # no class 9
    project.mark_dirty(second)
    before = _snapshot(folder)
    with pytest.raises(UndefinedClassError) as err:
        project.save()
    msg = str(err.value)
    assert second in msg and "class id 9" in msg and "unlabeled, building" in msg and "add the class" in msg
    with pytest.raises(UndefinedClassError):
        project.autosave()
    assert _snapshot(folder) == before  # neither project.json, nor the good image, nor the journal
    assert project.dirty == sorted(truth)  # the work is still in memory
    project.classes.add("nine", "#123456", class_id=9)  # what the message says to do
    assert project.save() == sorted(truth)
    assert Project.open(folder).annotation(second).corrected.label_map[10, 20] == 9


def test_instance_of_an_undefined_class_is_refused(tmp_path, nuclei_val):
    ds = load_coco(nuclei_val)
    ann = next(a for a in ds.annotations if a.corrected.instances)
    folder = tmp_path / "nuclei"
    folder.mkdir()
    shutil.copy(ds.path.parent / "images" / ann.file_name, folder / ann.file_name)
    project = Project.open(folder, task="instance", classes=ds.classes)
    project.set_annotation(ann.file_name, ann)
    bad = ann.corrected.instances[0]
    ann.corrected.instances[0] = Instance(id=bad.id, class_id=7, mask=bad.mask)
    with pytest.raises(UndefinedClassError) as err:
        project.save()
    assert ann.file_name in str(err.value) and "class id 7" in str(err.value)
    assert not (folder / ".maskwork").exists()
    ann.corrected.instances[0] = bad
    assert project.save() == [ann.file_name]


def test_unlabeled_pixels_and_a_models_own_classes_in_the_prediction_are_saved(aerial):
    """0 means unlabeled even without a class 0; a prediction carries its model's class ids."""
    folder, truth = aerial
    name = sorted(truth)[0]
    project = Project.open(folder, task="semantic")
    project.classes = ClassList.from_list([{"id": 1, "name": "building", "color": "#3C1098"}])
    ann = project.annotation(name)
    ann.corrected.label_map = np.where(truth[name] == 1, 1, 0).astype(np.uint8)
    h, w = ann.shape
    ann.prediction = Layer(instances=[Instance(id=1, class_id=57, mask=Mask.from_crop(h, w, 0, 0,
                                                                                      np.ones((4, 4), bool)))])
    project.mark_dirty(name)
    assert project.save() == [name]
    back = Project.open(folder).annotation(name)
    assert back.prediction.instances[0].class_id == 57
    np.testing.assert_array_equal(back.corrected.label_map, ann.corrected.label_map)
