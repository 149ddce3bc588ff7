"""core.store.review: the per-image reviewed mark on real nuclei images: stored, crash-safe, exported to COCO
as an image attribute and read back by the import."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

from maskwork.core.domain.annotation import ClassList
from maskwork.core.formats.coco import load_coco
from maskwork.core.formats.coco_project import import_coco
from maskwork.core.formats.project_io import export_project
from maskwork.core.store import review
from maskwork.core.store.project import Project


def nuclei_project(nuclei_val, folder, n=3) -> tuple[Project, list[str]]:
    ds = load_coco(nuclei_val)
    folder.mkdir()
    names = []
    for ann in ds.annotations[:n]:
        shutil.copy(nuclei_val.parent / "images" / ann.file_name, folder / ann.file_name)
        names.append(ann.file_name)
    project = Project.create(folder, ClassList.from_names(["background", "nucleus"]), task="instance")
    ds.annotations = ds.annotations[:n]
    import_coco(project, ds)
    project.save()
    return project, sorted(names)


def test_marks_are_saved_and_only_changes_are_reported(nuclei_val, tmp_path):
    project, names = nuclei_project(nuclei_val, tmp_path / "p")
    assert review.set_reviewed(project, names[:2]) == names[:2]
    assert review.set_reviewed(project, names[:2]) == []  # already marked: nothing changed
    assert review.set_reviewed(project, [names[0]], False) == [names[0]]
    project.save()
    project.close()
    again = Project.open(tmp_path / "p")
    assert review.reviewed_names(again) == {names[1]}


def test_a_mark_survives_a_kill_before_any_save(nuclei_val, tmp_path):
    """Marked, then killed (SIGKILL) before saving: the next open finds the mark (journaled at once)."""
    project, names = nuclei_project(nuclei_val, tmp_path / "p")
    project.close()
    code = ("import sys, time, os\n"
            "from maskwork.core.store.project import Project\n"
            "from maskwork.core.store import review\n"
            f"p = Project.open({str(tmp_path / 'p')!r}, writer='test')\n"
            f"review.set_reviewed(p, [{names[1]!r}])\n"
            "time.sleep(2.0)\n"          # the journal writes within about a second
            "print('marked', flush=True)\n"
            "time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "marked"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    again = Project.open(tmp_path / "p", writer="test")
    assert review.reviewed_names(again) == {names[1]}
    assert "project.json" in again.recovered
    again.close()


def test_next_unreviewed_walks_forward_and_wraps():
    names = ["a", "b", "c", "d"]
    assert review.next_unreviewed(names, "b", {"c"}) == "d"
    assert review.next_unreviewed(names, "d", {"a"}) == "b"
    assert review.next_unreviewed(names, "b", {"a", "c", "d"}) is None  # only the current one is left
    assert review.next_unreviewed(names, None, set()) == "a"


def test_coco_export_writes_the_mark_and_import_reads_it_back(nuclei_val, tmp_path):
    project, names = nuclei_project(nuclei_val, tmp_path / "p")
    export_project(project, tmp_path / "unmarked.json", "coco-rle")  # nothing marked: images as they came
    assert not any("attributes" in img for img in json.loads((tmp_path / "unmarked.json").read_text())["images"])
    review.set_reviewed(project, [names[0], names[2]])
    out = tmp_path / "export.json"
    export_project(project, out, "coco-rle")
    doc = json.loads(out.read_text())
    marks = {img["file_name"]: img["attributes"]["reviewed"] for img in doc["images"]}
    assert marks == {names[0]: True, names[1]: False, names[2]: True}
    assert len(doc["annotations"]) > 10  # the masks are there too

    fresh = tmp_path / "q"
    fresh.mkdir()
    for n in names:
        shutil.copy(tmp_path / "p" / n, fresh / n)
    other = Project.create(fresh, ClassList.from_names(["background", "nucleus"]), task="instance")
    review.set_reviewed(other, [names[1]])  # the file says it is not reviewed: the import wins
    import_coco(other, load_coco(out))
    assert review.reviewed_names(other) == {names[0], names[2]}
    # a re-export writes the marks of now, not the attributes carried from the import
    review.set_reviewed(other, [names[0]], False)
    export_project(other, tmp_path / "again.json", "coco-rle")
    again = json.loads((tmp_path / "again.json").read_text())
    assert {i["file_name"]: i["attributes"]["reviewed"] for i in again["images"]} == {
        names[0]: False, names[1]: False, names[2]: True}
