"""YOLO segmentation labels (Ultralytics format): round trips on real data, the files against the
documented format, class names from data.yaml / classes.txt, and bad input refused with nothing written."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskwork.core.cli import run
from maskwork.core.domain.masks import Mask
from maskwork.core.store.project import Project
from tests.unit.label_fixtures import coco_project, compare, has_hole, images_only, objects_by_image, snapshot

SOURCES = {"nuclei": ("nuclei/val.json", "nuclei/images"),
           "coco_sample": ("coco_sample/instances_val2017.json", "coco_sample/val2017")}


@pytest.fixture(scope="module", params=sorted(SOURCES))
def exported(request, datasets, tmp_path_factory):
    """The source project, its YOLO export (through `main.py export`) and that export imported into a
    fresh copy of the images (through `main.py import`, format guessed from the folder)."""
    src_json, image_dir = (datasets / p for p in SOURCES[request.param])
    tmp = tmp_path_factory.mktemp(request.param)
    source = coco_project(src_json, image_dir, tmp / "source")
    out = tmp / "yolo"
    assert run(["export", str(source.root), str(out), "--format", "yolo"]) == 0
    images_only(src_json, image_dir, tmp / "back")
    assert run(["import", str(out), str(tmp / "back")]) == 0
    return request.param, source, out, Project.open(tmp / "back", read_only=True)


def test_round_trip_keeps_counts_categories_and_masks(exported):
    """Polygons are traced on the 2x-upsampled mask, which pycocotools redraws pixel for pixel (see
    coco_export.traced_rings), and 6 decimals move a vertex < 0.002 px off its .25/.75 px position; holes
    are spliced into their object's outline by zero-width bridges (holed_outlines), which the even-odd
    fill leaves empty: every object comes back exactly, those with holes included."""
    name, source, _out, back = exported
    ious, holed = compare(source, back)
    assert len(ious) == sum(map(len, objects_by_image(source).values()))
    assert min(ious) == 1.0
    assert holed >= 1  # both datasets have objects with holes: they are really tested
    crowd = sum(i.iscrowd for objs in objects_by_image(source, with_crowd=True).values() for i in objs)
    assert crowd == (5 if name == "coco_sample" else 0)  # skipped on export, as Ultralytics' converter does


def test_holes_stay_empty_in_ultralytics_rasteriser(exported):
    """Ultralytics' loader draws a label line with cv2.fillPoly on int32 pixel vertices
    (ultralytics.data.utils.polygon2mask, 8.4): the bridged holes stay empty there too. (Run by hand with
    ultralytics' own verify_image_label + resample_segments + polygon2mask: docs/MODELS.md.)"""
    _name, source, out, _back = exported
    ious = []
    for image, objs in objects_by_image(source).items():
        holed = [k for k, o in enumerate(objs) if has_hole(o.mask)]
        if not holed:
            continue
        lines = (out / "labels" / Path(image).with_suffix(".txt")).read_text().splitlines()
        assert len(lines) == len(objs)
        for k in holed:
            m = objs[k].mask
            xy = np.array(lines[k].split()[1:], np.float64).reshape(-1, 2) * (m.width, m.height)
            drawn = np.zeros((m.height, m.width), np.uint8)
            cv2.fillPoly(drawn, [xy.astype(np.int32)], 1)
            ious.append(m.iou(Mask.from_full(drawn.astype(bool))))
    assert ious and min(ious) >= 0.99, sorted(ious)[:3]  # holes filled in would give 0.965 on nuclei


def test_files_follow_the_ultralytics_format(exported):
    """Checked against docs.ultralytics.com/datasets/segment, parsed here without Maskwork's reader."""
    _name, source, out, _back = exported
    yaml = (out / "data.yaml").read_text()
    names = dict(re.findall(r'^  (\d+): "(.*)"$', yaml, re.M))
    assert [names[str(k)] for k in range(len(names))] == [c.name for c in source.classes if c.id != 0]
    assert re.search(rf"^nc: {len(names)}$", yaml, re.M) and re.search(r"^train: images$", yaml, re.M)
    labels = sorted(p.relative_to(out / "labels").with_suffix("").as_posix() for p in (out / "labels").rglob("*.txt"))
    objects = objects_by_image(source, with_crowd=True)
    assert labels == sorted(Path(n).with_suffix("").as_posix() for n in source.image_names() if objects[n])
    for txt in (out / "labels").rglob("*.txt"):
        for line in txt.read_text().splitlines():
            cls, *xy = line.split()
            assert 0 <= int(cls) < len(names)
            assert len(xy) >= 6 and len(xy) % 2 == 0
            assert all(0.0 <= float(v) <= 1.0 for v in xy)


@pytest.fixture
def one_image(nuclei_val, tmp_path):
    """A project of 2 real nuclei images and a YOLO label folder for them with 2 real objects each."""
    doc = json.loads(nuclei_val.read_text())
    doc["images"] = doc["images"][:2]
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] in {i["id"] for i in doc["images"]}]
    (tmp_path / "two.json").write_text(json.dumps(doc))
    src = coco_project(tmp_path / "two.json", nuclei_val.parent / "images", tmp_path / "src")
    names = src.image_names()
    out = tmp_path / "yolo"
    assert run(["export", str(src.root), str(out), "--format", "yolo", "--images", *names]) == 0
    for n in names:  # keep 2 objects per image
        txt = out / "labels" / Path(n).with_suffix(".txt")
        txt.write_text("\n".join(txt.read_text().splitlines()[:2]) + "\n")
    folder = tmp_path / "project"
    folder.mkdir()
    for n in names:
        shutil.copy(src.root / n, folder / n)
    return folder, out, names


@pytest.mark.parametrize("names_file, text", [
    ("data.yaml", "path: x\nnames:\n  0: nucleus   # the only class\n"),
    ("data.yaml", "names: ['nucleus']\nnc: 1\n"),
    ("data.yaml", "names:\n  - \"nucleus\"\ntrain: images\n"),
    ("data.yaml", "names: {0: nucleus}\n"),
    ("classes.txt", "nucleus\n"),
])
def test_class_names_from_data_yaml_or_classes_txt(one_image, names_file, text):
    folder, out, names = one_image
    (out / "data.yaml").unlink()
    (out / names_file).write_text(text)
    assert run(["import", str(out), str(folder), "--format", "yolo"]) == 0
    project = Project.open(folder, read_only=True)
    assert project.classes.names() == ["nucleus"]
    assert [len(project.annotation(n).corrected.instances) for n in names] == [2, 2]


def test_semantic_project_paints_the_objects(one_image):
    folder, out, names = one_image
    assert run(["import", str(out), str(folder), "--task", "semantic"]) == 0
    project = Project.open(folder, read_only=True)
    lm = project.annotation(names[0]).corrected.label_map
    assert lm is not None and set(np.unique(lm)) == {0, project.classes.by_name("nucleus").id}


def _first_label(out: Path, names: list[str]) -> Path:
    return out / "labels" / Path(names[0]).with_suffix(".txt")


def _edit_line(out, names, fn):
    txt = _first_label(out, names)
    lines = txt.read_text().splitlines()
    lines[1] = fn(lines[1])
    txt.write_text("\n".join(lines) + "\n")


BAD = {
    "malformed line": (lambda out, names: _edit_line(out, names, lambda ln: ln + " 0.5"),
                       r"\.txt: line 2: \d+ coordinates; a polygon needs at least 3 x y pairs"),
    "not a number": (lambda out, names: _edit_line(out, names, lambda ln: ln.replace(" ", " abc ", 1)),
                     r"\.txt: line 2: 'abc' is not a number"),
    "outside 0..1": (lambda out, names: _edit_line(out, names, lambda ln: ln + " 1.2 0.5"),
                     r"\.txt: line 2: the coordinate 1.2 is outside 0..1"),
    "NaN": (lambda out, names: _edit_line(out, names, lambda ln: ln + " nan 0.5"),
            r"\.txt: line 2: the coordinate nan is outside 0..1"),
    "unknown class index": (lambda out, names: _edit_line(out, names, lambda ln: "3" + ln[1:]),
                            r"\.txt: line 2: class index 3 is not named in .*data\.yaml \(it names 1 classes\)"),
    "no class names": (lambda out, names: (out / "data.yaml").unlink(),
                       r"no data\.yaml or classes\.txt in it or its two parent folders"),
    "image not in project": (lambda out, names: shutil.copy(_first_label(out, names), out / "labels" / "zzz.txt"),
                             r"1 label file\(s\) cannot be matched.*zzz\.txt matches no image"),
    "two files for one image": (lambda out, names: (out / "labels" / "val").mkdir() or shutil.copy(
        _first_label(out, names), out / "labels" / "val" / _first_label(out, names).name),
        r"1 image\(s\) have more than one label file: .* and .* -> "),
    "bad data.yaml": (lambda out, names: (out / "data.yaml").write_text("names: nucleus\n"),
                      r"data\.yaml: line 1: `names: nucleus` is not a list"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_in_one_sentence_and_nothing_is_written(one_image, capsys, case):
    folder, out, names = one_image
    breakage, expected = BAD[case]
    breakage(out, names)
    before = snapshot(folder)
    assert run(["import", str(out), str(folder), "--format", "yolo"]) == 2
    err = capsys.readouterr().err.strip()
    assert re.search(expected, err), err
    # one error sentence (progress lines of the read may come before it)
    assert len([ln for ln in err.splitlines() if 'error' in ln]) == 1 and 'Traceback' not in err
    assert snapshot(folder) == before and not (folder / ".maskwork").exists()


def test_same_base_name_in_two_folders_is_matched_by_path_or_refused(one_image, capsys):
    folder, out, names = one_image
    stem = Path(names[0]).stem
    (folder / "a").mkdir()
    (folder / "b").mkdir()
    shutil.copy(folder / names[0], folder / "a" / names[0])
    shutil.move(folder / names[0], folder / "b" / names[0])
    before = snapshot(folder)
    assert run(["import", str(out), str(folder), "--format", "yolo"]) == 2  # labels/<stem>.txt: which one?
    assert re.search(rf"{stem}\.txt matches 2 images \(a/{stem}\.png, b/{stem}\.png\)", capsys.readouterr().err)
    assert snapshot(folder) == before
    (out / "labels" / "a").mkdir()
    shutil.move(_first_label(out, names), out / "labels" / "a" / f"{stem}.txt")
    assert run(["import", str(out), str(folder), "--format", "yolo"]) == 0  # labels/a/x.txt -> a/x.png
    project = Project.open(folder, read_only=True)
    assert len(project.annotation(f"a/{names[0]}").corrected.instances) == 2
    assert project.annotation(f"b/{names[0]}").corrected.is_empty()
