"""Small core helpers behind issue 12: counted nouns, label decluttering, which images an export
writes, the suggested training schedule, and the images that use a class."""
from __future__ import annotations

import json

import numpy as np

from maskwork.core.domain.annotation import Layer, Status
from maskwork.core.domain.class_uses import images_using_class
from maskwork.core.domain.text import plural
from maskwork.core.formats.export_scope import corrected_names, export_names
from maskwork.core.training.schedule import SCHEDULES
from maskwork.core.view.label_layout import non_overlapping


def test_plural_reads_one_image_and_two_images():
    assert [plural(n, "image") for n in (0, 1, 2)] == ["0 images", "1 image", "2 images"]
    assert plural(1, "class") == "1 class" and plural(3, "class") == "3 classes"


def test_labels_kept_never_overlap_and_bigger_objects_win():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 400, size=(300, 2))
    rects = [(x, y, x + 60, y + 14) for x, y in xy]
    priority = list(rng.uniform(0, 1, 300))
    keep = non_overlapping(rects, priority)
    kept = [r for r, k in zip(rects, keep) if k]
    assert 10 < len(kept) < 300
    for i, a in enumerate(kept):
        for b in kept[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
    for r, k, p in zip(rects, keep, priority):  # a hidden label overlaps a kept one of higher priority
        if not k:
            assert any(k2 and p2 >= p and r[0] - 2 < r2[2] and r2[0] < r[2] + 2 and r[1] - 2 < r2[3]
                       and r2[1] < r[3] + 2 for r2, k2, p2 in zip(rects, keep, priority))


def test_fine_tuning_is_gentler_and_shorter_than_training_from_scratch():
    for task in ("semantic", "instance"):
        fine, scratch = SCHEDULES[(task, True)], SCHEDULES[(task, False)]
        assert fine.lr < scratch.lr and fine.epochs * fine.min_steps < scratch.epochs * scratch.min_steps
        assert fine.steps_per_epoch(3, 4) == fine.min_steps and fine.steps_per_epoch(1000, 4) == 250


def _aerial_project(tmp_path, aerial_dir):
    from PIL import Image

    from maskwork.core.domain.annotation import ClassList
    from maskwork.core.store.project import Project

    folder = tmp_path / "aerial"
    folder.mkdir()
    for src in sorted((aerial_dir / "images").glob("*.jpg"))[:3]:
        Image.open(src).convert("RGB").crop((0, 0, 64, 64)).save(folder / (src.stem + ".png"))
    classes = ClassList.from_list(json.loads((aerial_dir / "classes.json").read_text()))
    return Project.create(folder, classes, "semantic")


def test_export_writes_corrected_reviewed_and_accepted_images_only_by_default(tmp_path, aerial_dir):
    from maskwork.core.store.review import set_reviewed

    project = _aerial_project(tmp_path, aerial_dir)
    painted, reviewed, untouched = project.image_names()
    ann = project.annotation(painted)
    ann.corrected = Layer(label_map=np.full((64, 64), 3, np.uint8))
    ann.status = Status.CORRECTED
    set_reviewed(project, [reviewed])  # checked by a person, nothing in it
    assert corrected_names(project, project.image_names()) == [painted, reviewed]
    assert export_names(project, None, "corrected", None) == [painted, reviewed]
    assert export_names(project, None, "prediction", None) == project.image_names()
    assert export_names(project, None, "corrected", False) == project.image_names()
    assert untouched not in export_names(project, None, "corrected", True)


def test_images_using_a_class_are_found_in_memory_and_in_newer_saved_files(tmp_path, aerial_dir):
    import time

    project = _aerial_project(tmp_path, aerial_dir)
    first, second, _third = project.image_names()
    before = time.time_ns() - 10**9
    project.annotation(first).corrected = Layer(label_map=np.full((64, 64), 5, np.uint8))
    project.mark_dirty(first)
    project.save()
    project.annotation(second).corrected = Layer(label_map=np.full((64, 64), 5, np.uint8))
    project.mark_dirty(second)
    assert images_using_class(project, 5, before) == [second, first]  # unsaved first, then saved files
    assert images_using_class(project, 5, time.time_ns() + 10**10) == [second]  # the file is older
    assert images_using_class(project, 4, before) == []
