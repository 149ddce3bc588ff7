"""Bad COCO and PNG inputs are refused in one sentence with nothing written; exports never write NaN."""
from __future__ import annotations

import copy
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from maskwork.core.cli import run
from maskwork.core.domain.annotation import ClassList, Instance
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.formats import png
from maskwork.core.formats.project_io import export_project
from maskwork.core.store.project import Project


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _strict(path: Path):
    """JSON as other tools read it: NaN/Infinity are errors."""
    def bad(name):
        raise ValueError(f"{path} holds {name}, which is not JSON")
    return json.loads(path.read_text(), parse_constant=bad)


@pytest.fixture
def nuclei2(nuclei_val, tmp_path):
    """2 small nuclei images in a project that already has corrected work, and their COCO document."""
    doc = json.loads(nuclei_val.read_text())
    doc["images"] = sorted(doc["images"], key=lambda i: i["width"] * i["height"])[:2]
    keep = {i["id"] for i in doc["images"]}
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] in keep]
    folder = tmp_path / "project"
    folder.mkdir()
    for img in doc["images"]:
        shutil.copy(nuclei_val.parent / "images" / img["file_name"], folder / img["file_name"])
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(doc))
    assert run(["import", str(gt), str(folder)]) == 0
    return folder, gt, doc


def _refused(capsys, folder: Path, doc: dict, gt: Path, pattern: str, *extra: str) -> str:
    gt.write_text(json.dumps(doc))
    before = _snapshot(folder)
    capsys.readouterr()
    assert run(["import", str(gt), str(folder), "--overwrite", *extra]) == 2
    lines = [line for line in capsys.readouterr().err.strip().splitlines()
             if not re.match(r"reading \S+: \d+/\d+", line)]  # progress lines (stderr is not a terminal)
    err = "\n".join(lines)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert re.search(pattern, err), err
    assert _snapshot(folder) == before  # nothing written
    return err


def _box_only(doc: dict, bbox) -> dict:
    doc = copy.deepcopy(doc)
    doc["annotations"][0]["segmentation"] = []
    doc["annotations"][0]["bbox"] = bbox
    return doc


@pytest.mark.parametrize("change, pattern", [
    (lambda d: d.pop("annotations"), r"gt\.json: top level: there is no 'annotations' list"),
    (lambda d: d["annotations"][0].update(score=float("nan")), r"annotation id \d+.*'score' is nan, not a finite"),
    (lambda d: d["annotations"][0].update(score="high"), r"annotation id \d+.*'score' is 'high'"),
    (lambda d: d["annotations"][0].update(bbox="1,2,3,4"), r"annotation id \d+.*'bbox' is '1,2,3,4', not \[x, y"),
    (lambda d: d.update(_box_only(d, ["a", 1, 2, 3])), r"'bbox' is \['a', 1, 2, 3\], not"),
    (lambda d: d.update(_box_only(d, [float("nan"), 1, 2, 3])), r"'bbox' is \[nan, 1, 2, 3\], not .* finite"),
    (lambda d: d.update(_box_only(d, [4, 5, -2, 3])), r"'bbox' \[4, 5, -2, 3\] has a negative value"),
    (lambda d: [c.update(id=10**12) for c in d["categories"]],
     r"categories\[0\].*category id 1000000000000 is above 65535"),
])
def test_bad_coco_is_refused_and_nothing_written(nuclei2, capsys, change, pattern):
    folder, gt, doc = nuclei2
    doc = copy.deepcopy(doc)
    change(doc)
    _refused(capsys, folder, doc, gt, pattern)


def test_category_id_above_uint16_in_a_semantic_import(nuclei2, tmp_path, capsys):
    _folder, gt, doc = nuclei2
    fresh = tmp_path / "semantic"
    fresh.mkdir()
    for img in doc["images"]:
        shutil.copy(_folder / img["file_name"], fresh / img["file_name"])
    doc = copy.deepcopy(doc)
    doc["categories"][0]["id"] = 70000
    for a in doc["annotations"]:
        a["category_id"] = 70000
    _refused(capsys, fresh, doc, gt, r"category id 70000 is above 65535", "--task", "semantic")
    assert not (fresh / ".maskwork").exists()


def test_empty_annotations_list_clears_on_purpose(nuclei2):
    """An explicit [] means 'these images have no objects': allowed (and only with --overwrite)."""
    folder, gt, doc = nuclei2
    gt.write_text(json.dumps({**doc, "annotations": []}))
    assert run(["import", str(gt), str(folder)]) == 2  # the images have work: needs --overwrite
    assert run(["import", str(gt), str(folder), "--overwrite"]) == 0
    project = Project.open(folder)
    assert all(project.annotation(i["file_name"]).corrected.is_empty() for i in doc["images"])


def test_same_base_name_in_two_folders(nuclei_val, tmp_path, capsys):
    """x.png and other/x.png: each gets its own masks when the project has both, else a refusal naming both."""
    doc = json.loads(nuclei_val.read_text())
    a, b = sorted(doc["images"], key=lambda i: i["width"] * i["height"])[:2]
    folder = tmp_path / "project"
    (folder / "other").mkdir(parents=True)
    shutil.copy(nuclei_val.parent / "images" / a["file_name"], folder / "x.png")
    shutil.copy(nuclei_val.parent / "images" / b["file_name"], folder / "other" / "x.png")
    anns = [x for x in doc["annotations"] if x["image_id"] in (a["id"], b["id"])]
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"images": [{**a, "file_name": "x.png"}, {**b, "file_name": "other/x.png"}],
                              "annotations": anns, "categories": doc["categories"]}))
    assert run(["import", str(gt), str(folder)]) == 0
    project = Project.open(folder)
    for img, name in ((a, "x.png"), (b, "other/x.png")):
        got = {i.id for i in project.annotation(name).corrected.instances}
        assert got == {x["id"] for x in anns if x["image_id"] == img["id"]}

    only_one = tmp_path / "only_one"
    only_one.mkdir()
    shutil.copy(folder / "x.png", only_one / "x.png")  # other/x.png would land on x.png by base name
    capsys.readouterr()
    assert run(["import", str(gt), str(only_one)]) == 2
    err = capsys.readouterr().err
    assert "'x.png' and 'other/x.png' -> x.png" in err and "Nothing was imported" in err
    assert not (only_one / ".maskwork").exists()


def test_png_masks_with_same_stem_in_two_folders(aerial_dir, tmp_path):
    """masks/x.png and masks/other/x.png go to images x.jpg and other/x.jpg (not 'no matching image')."""
    src = sorted((aerial_dir / "images").glob("*.jpg"))[:2]
    folder, masks = tmp_path / "project", tmp_path / "masks"
    (folder / "other").mkdir(parents=True)
    (masks / "other").mkdir(parents=True)
    for img, rel in zip(src, ("x", "other/x")):
        shutil.copy(img, folder / f"{rel}.jpg")
        shutil.copy(aerial_dir / "masks" / (img.stem + ".png"), masks / f"{rel}.png")
    shutil.copy(aerial_dir / "classes.json", masks / "classes.json")
    assert run(["import", str(masks), str(folder)]) == 0
    project = Project.open(folder)
    for img, rel in zip(src, ("x", "other/x")):
        truth = png.read_label_png(aerial_dir / "masks" / (img.stem + ".png"))
        assert np.array_equal(project.annotation(f"{rel}.jpg").corrected.label_map, truth)


def _project_with(tmp_path, nuclei2, inst: Instance, class_id: int = 1) -> Project:
    folder, _gt, doc = nuclei2
    project = Project.open(folder)
    if class_id not in project.classes:
        project.classes.add("far", None, class_id)
    name = doc["images"][0]["file_name"]
    project.annotation(name).corrected.instances.append(inst)
    project.mark_dirty(name)
    project.save()
    return Project.open(folder)


def test_class_ids_above_uint16_are_refused_before_writing(nuclei2, tmp_path, capsys):
    """A class id no label map can hold: refused when a class is added, and when a hand-edited project.json
    has one, refused when the project is read (its schema), before an export writes anything."""
    with pytest.raises(ValueError, match="outside 0..65535"):
        ClassList().add("far", None, 70000)
    folder, _gt, doc = nuclei2
    _project_with(tmp_path, nuclei2, Instance(id=99999, class_id=7, mask=Mask.from_full(
        np.pad(np.ones((3, 3), bool), ((0, doc["images"][0]["height"] - 3), (0, doc["images"][0]["width"] - 3))))),
        class_id=7).close()
    meta = folder / ".maskwork" / "project.json"
    stored = json.loads(meta.read_text())
    next(c for c in stored["classes"] if c["id"] == 7)["id"] = 70000
    meta.write_text(json.dumps(stored))
    out = tmp_path / "pngs"
    capsys.readouterr()
    assert run(["export", str(folder), str(out), "--format", "png"]) == 2
    err = capsys.readouterr().err
    assert "classes[1].id is 70000, above the largest allowed value 65535" in err and "Traceback" not in err
    assert not out.exists()  # no classes.json left behind


def test_coco_export_never_writes_nan(nuclei2, tmp_path):
    folder, _gt, doc = nuclei2
    h, w = doc["images"][0]["height"], doc["images"][0]["width"]
    mask = Mask.from_full(np.pad(np.ones((3, 3), bool), ((0, h - 3), (0, w - 3))))
    project = _project_with(tmp_path, nuclei2, Instance(id=99999, class_id=1, mask=mask, score=math.nan))
    out = tmp_path / "out.json"
    report = export_project(project, out, "coco-rle", include_scores=True)
    data = _strict(out)
    item = next(a for a in data["annotations"] if a["id"] == 99999)
    assert "score" not in item and any("99999" in w and "without a score" in w for w in report.warnings)

    name = doc["images"][0]["file_name"]
    project.annotation(name).corrected.instances.append(
        Instance(id=5, class_id=1, mask=Mask.empty(h, w), box=(math.nan, 1.0, 2.0, 3.0)))
    bad = tmp_path / "bad.json"
    with pytest.raises(InputError, match=r"object 5 is a box \[nan, 1.0, 2.0, 3.0\].*nothing was written"):
        export_project(project, bad, "coco-rle")
    assert not bad.exists()


def test_instance_png_sidecar_with_bad_class_or_score(nuclei2, tmp_path):
    folder, _gt, doc = nuclei2
    project = Project.open(folder)
    out = tmp_path / "inst"
    export_project(project, out, "instance-png")
    side = next(p for p in out.glob("*.json") if p.name != png.CLASSES_SIDECAR)
    meta = json.loads(side.read_text())
    meta["instances"][0]["class_id"] = 10**12
    side.write_text(json.dumps(meta))
    with pytest.raises(InputError, match=r"class_id 1000000000000.*Fix that entry"):
        png.read_instance_png(side.with_suffix(".png"))
    meta["instances"][0].update(class_id=1, score=float("nan"))
    side.write_text(json.dumps(meta))
    with pytest.raises(InputError, match=r"score nan"):
        png.read_instance_png(side.with_suffix(".png"))
