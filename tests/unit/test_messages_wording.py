"""Issue 18, section 3: messages in the program's words. An ordinary COCO export has no warning about
renumbered instance ids (each image numbering its objects 1, 2, ... is normal); an import names a moved
class by its name; a recovered class list is "the class list and project settings", not "project.json"."""
from __future__ import annotations

import shutil

from maskwork.core.domain.annotation import ClassList
from maskwork.core.formats.coco import load_coco
from maskwork.core.formats.coco_export import coco_export
from maskwork.core.formats.coco_project import import_coco
from maskwork.core.store.autosave import recovered_in_words
from maskwork.core.store.project import Project


def _nuclei_project(tmp_path, nuclei_val, classes: list[str], n: int = 3):
    ds = load_coco(nuclei_val)
    ds.annotations = ds.annotations[:n]
    for ann in ds.annotations:
        shutil.copy(nuclei_val.parent / "images" / ann.file_name, tmp_path / ann.file_name)
    project = Project.create(tmp_path, ClassList.from_names(classes), task="instance")
    return project, ds


def test_an_ordinary_coco_export_has_no_warning(tmp_path, nuclei_val):
    project, ds = _nuclei_project(tmp_path, nuclei_val, ["background", "nucleus"])
    import_coco(project, ds)
    anns = [project.annotation(n) for n in project.image_names()]
    for ann in anns:  # as objects drawn in the app (and YOLO / labelme imports): each image numbers its own
        for k, inst in enumerate(ann.corrected.instances):
            inst.id = k + 1
    per_image = [[i.id for i in a.corrected.instances] for a in anns]
    assert all(ids[:2] == [1, 2] for ids in per_image)  # ids repeat across images
    data, report = coco_export(anns, project.classes)
    assert report.warnings == []
    ids = [a["id"] for a in data["annotations"]]
    assert ids == list(range(1, sum(map(len, per_image)) + 1))  # still unique in the file


def test_import_names_the_class_whose_id_moved(tmp_path, nuclei_val):
    project, ds = _nuclei_project(tmp_path, nuclei_val, ["background", "cell", "nucleus"], n=1)
    file_id = ds.classes.by_name("nucleus").id
    report = import_coco(project, ds)
    assert report.class_remap == {file_id: 2}
    assert f"class 'nucleus' (id {file_id} in the file) is id 2 here" in report.summary()
    assert "{" not in report.summary()


def test_a_recovered_class_list_is_named_in_the_users_words(tmp_path, nuclei_val):
    project, ds = _nuclei_project(tmp_path, nuclei_val, ["background", "nucleus"], n=1)
    project.save()
    project.classes.add("debris", "#FF00FF")
    project.journal_classes()  # what a class edit does at once; then the program dies unsaved
    project.close()
    again = Project.open(tmp_path)
    try:
        assert "project.json" in again.recovered
        words = [recovered_in_words(n) for n in again.recovered]
        assert "the class list and project settings (reviewed marks, locks)" in words
        assert "project.json" not in words
    finally:
        again.close()
