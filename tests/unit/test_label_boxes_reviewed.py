"""Box-only objects and the reviewed mark in the per-image label formats, on real nuclei images through
`main.py export` / `main.py import`: labelme writes a box as a rectangle and the mark as an image flag and
reads both back; YOLO segmentation labels leave boxes out and say so, naming the image."""
from __future__ import annotations

import json
import shutil

from maskwork.core.cli import run
from maskwork.core.domain.annotation import Layer
from maskwork.core.editing.box_ops import create_box_instance, is_box_only
from maskwork.core.store import review
from maskwork.core.store.project import Project
from tests.unit.test_review import nuclei_project

BOX = (20.0, 30.0, 41.0, 17.0)


def marked_project(nuclei_val, folder):
    """3 nuclei images with their truth; the first gets a box-only object; the first and the last are
    reviewed, the last holding no object at all (a person checked that it holds nothing)."""
    project, names = nuclei_project(nuclei_val, folder)
    first = project.annotation(names[0])
    masked = len(first.corrected.instances)
    create_box_instance(first.corrected, BOX, 1, first.height, first.width)
    project.set_annotation(names[0], first)
    empty = project.annotation(names[2])
    empty.corrected = Layer()
    project.set_annotation(names[2], empty)
    review.set_reviewed(project, [names[0], names[2]])
    project.save()
    project.close()
    return names, masked


def test_labelme_writes_boxes_as_rectangles_and_the_mark_as_a_flag_and_reads_both_back(nuclei_val, tmp_path):
    names, masked = marked_project(nuclei_val, tmp_path / "p")
    back = tmp_path / "back"  # labelme keeps its files beside the images: export into a copy of them
    back.mkdir()
    for name in names:
        shutil.copy(tmp_path / "p" / name, back / name)
    assert run(["export", str(tmp_path / "p"), str(back), "--format", "labelme"]) == 0
    docs = {n: json.loads((back / n).with_suffix(".json").read_text()) for n in names}
    rects = [s for s in docs[names[0]]["shapes"] if s["shape_type"] == "rectangle"]
    assert [(s["label"], s["points"]) for s in rects] == [("nucleus", [[20.0, 30.0], [61.0, 47.0]])]
    assert len(docs[names[0]]["shapes"]) >= masked + 1
    assert [docs[n]["flags"] for n in names] == [{"reviewed": True}, {"reviewed": False}, {"reviewed": True}]
    assert docs[names[2]]["shapes"] == []  # reviewed and empty: written, so the mark travels

    assert run(["import", str(back), str(back)]) == 0
    again = Project.open(back, read_only=True)
    objs = again.annotation(names[0]).corrected.instances
    assert [i.box for i in objs if is_box_only(i)] == [BOX]
    assert len([i for i in objs if not i.mask.is_empty]) == masked
    assert review.reviewed_names(again) == {names[0], names[2]}
    assert again.annotation(names[2]).corrected.instances == []


def test_labelme_without_marks_writes_empty_flags_and_skips_empty_images(nuclei_val, tmp_path):
    project, names = nuclei_project(nuclei_val, tmp_path / "p")
    empty = project.annotation(names[2])
    empty.corrected = Layer()
    project.set_annotation(names[2], empty)
    project.save()
    project.close()
    out = tmp_path / "out"
    assert run(["export", str(tmp_path / "p"), str(out), "--format", "labelme", "--all-images"]) == 0
    assert sorted(p.name for p in out.glob("*.json")) == sorted(n.replace(".png", ".json") for n in names[:2])
    assert all(json.loads(p.read_text())["flags"] == {} for p in out.glob("*.json"))


def test_yolo_leaves_boxes_out_and_says_so_naming_the_image(nuclei_val, tmp_path, capsys):
    names, masked = marked_project(nuclei_val, tmp_path / "p")
    out = tmp_path / "yolo"
    assert run(["export", str(tmp_path / "p"), str(out), "--format", "yolo"]) == 0
    err = capsys.readouterr().err
    warning = next(line for line in err.splitlines() if "box-only" in line)
    assert warning.startswith("warning: 1 box-only object (a box, no mask yet) was NOT written")
    assert f"{names[0]} (1)" in warning and "export COCO or labelme" in warning
    lines = (out / "labels" / names[0]).with_suffix(".txt").read_text().splitlines()
    assert len(lines) == masked and all(len(line.split()) > 5 for line in lines)  # polygons only
