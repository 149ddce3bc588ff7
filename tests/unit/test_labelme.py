"""labelme JSON: round trips on real data, the files against labelme 7.1.0's loader schema, shape types
(mask, rectangle, group_id, skipped types), and bad input refused with nothing written."""
from __future__ import annotations

import base64
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskwork.core.cli import run
from maskwork.core.store.project import Project
from tests.unit.label_fixtures import coco_project, compare, images_only, objects_by_image, snapshot

SOURCES = {"nuclei": ("nuclei/val.json", "nuclei/images"),
           "coco_sample": ("coco_sample/instances_val2017.json", "coco_sample/val2017")}


@pytest.fixture(scope="module", params=sorted(SOURCES))
def exported(request, datasets, tmp_path_factory):
    """Source project; its labelme export into a copy of the images (beside them, as labelme keeps
    them); that folder imported as a new project (format guessed from the folder)."""
    src_json, image_dir = (datasets / p for p in SOURCES[request.param])
    tmp = tmp_path_factory.mktemp(request.param)
    source = coco_project(src_json, image_dir, tmp / "source")
    back = tmp / "back"
    images_only(src_json, image_dir, back)
    assert run(["export", str(source.root), str(back), "--format", "labelme"]) == 0
    assert run(["import", str(back), str(back)]) == 0
    return source, back, Project.open(back, read_only=True)


def test_round_trip_is_exact(exported):
    """Outlines go through pixel centres and PIL redraws them with their outline (labelme's own
    rasterisation), and objects with holes go as mask shapes: every object comes back pixel for pixel."""
    source, _folder, back = exported
    ious, _holed = compare(source, back)
    assert len(ious) == sum(map(len, objects_by_image(source).values()))
    assert min(ious) == 1.0 and float(np.median(ious)) == 1.0


def test_files_follow_labelme_7_1_loader_schema(exported):
    """The checks of labelme 7.1.0 read_label_file / _load_shape_json_obj, written out here."""
    source, folder, _back = exported
    kinds = set()
    for f in folder.glob("*.json"):
        doc = json.loads(f.read_text())
        assert set(doc) == {"version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"}
        assert doc["version"] == "7.1.0" and doc["imageData"] is None
        with Image.open(f.parent / doc["imagePath"]) as im:  # imagePath is relative to the .json
            assert (doc["imageWidth"], doc["imageHeight"]) == im.size
        for s in doc["shapes"]:
            kinds.add(s["shape_type"])
            assert isinstance(s["label"], str) and s["label"] in source.classes.names()
            assert s["group_id"] is None or isinstance(s["group_id"], int)
            pts = s["points"]
            assert pts and all(len(p) == 2 and all(isinstance(v, float) for v in p) for p in pts)
            if s["shape_type"] == "polygon":
                assert len(pts) >= 3 and s["mask"] is None
            else:
                assert s["shape_type"] == "mask" and len(pts) == 2
                patch = np.asarray(Image.open(io.BytesIO(base64.b64decode(s["mask"]))))
                (x1, y1), (x2, y2) = pts  # integer corners: labelme takes the patch as y2-y1+1 x x2-x1+1
                assert patch.ndim == 2 and patch.shape == (y2 - y1 + 1, x2 - x1 + 1)
    assert kinds == {"polygon", "mask"}  # objects with holes exist in both datasets


@pytest.fixture
def labelme_folder(nuclei_val, tmp_path):
    """One real nuclei image and a labelme file for it written by hand from the documented format."""
    doc = json.loads(nuclei_val.read_text())
    img = doc["images"][0]
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(nuclei_val.parent / "images" / img["file_name"], folder / img["file_name"])
    patch = np.zeros((6, 8), np.uint8)
    patch[1:5, 2:7] = 1
    buf = io.BytesIO()
    Image.fromarray(patch).save(buf, format="PNG")
    shapes = [
        {"label": "nucleus", "points": [[10, 10], [30, 10], [30, 20], [10, 20]], "shape_type": "polygon",
         "group_id": 1},
        {"label": "nucleus", "points": [[40, 10], [50, 10], [50, 20]], "shape_type": "polygon", "group_id": 1},
        {"label": "nucleus", "points": [[60.0, 60.0], [67.0, 65.0]], "shape_type": "mask", "group_id": None,
         "mask": base64.b64encode(buf.getvalue()).decode()},
        {"label": "cell", "points": [[100, 120], [80, 100]], "shape_type": "rectangle", "group_id": None},
        {"label": "nucleus", "points": [[5, 5], [9, 5]], "shape_type": "circle", "group_id": None},
        {"label": "nucleus", "points": [[5, 5], [9, 9]], "shape_type": "line", "group_id": None},
    ]
    label = folder / (Path(img["file_name"]).stem + ".json")
    label.write_text(json.dumps({"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": img["file_name"],
                                 "imageData": None, "imageHeight": img["height"], "imageWidth": img["width"]}))
    return folder, label, img


def test_shapes_become_instances_boxes_and_counted_skips(labelme_folder, capsys):
    folder, _label, img = labelme_folder
    assert run(["import", str(folder), str(folder)]) == 0
    assert "1 circle shape(s) skipped" in capsys.readouterr().err
    project = Project.open(folder, read_only=True)
    objs = project.annotation(img["file_name"]).corrected.instances
    assert [project.classes.get(o.class_id).name for o in objs] == ["nucleus", "nucleus", "cell"]
    grouped, masked, box = objs
    # group 1: a 21x11 rectangle polygon (PIL fills its outline) + a triangle, one instance
    assert grouped.mask.bbox == (10, 10, 41, 11) and grouped.mask.area > 21 * 11
    assert masked.mask.x0 == 62 and masked.mask.y0 == 61 and masked.mask.area == 20  # patch placed at points[0]
    assert box.mask.is_empty and box.box == (80.0, 100.0, 20.0, 20.0)


def _edit(label: Path, fn):
    doc = json.loads(label.read_text())
    fn(doc)
    label.write_text(json.dumps(doc))


BAD = {
    "wrong imageWidth": (lambda f, folder: _edit(f, lambda d: d.update(imageWidth=d["imageWidth"] + 1)),
                         r"\.json: 'imageWidth' x 'imageHeight' is \d+x\d+ but the image .* is \d+x\d+ pixels"),
    "image not in project": (lambda f, folder: _edit(f, lambda d: d.update(imagePath="other.png")) or
                             f.rename(folder / "other.json"),
                             r"cannot be matched.*other\.json \(imagePath 'other\.png'\) matches no image"),
    "two files for one image": (lambda f, folder: (folder / "sub").mkdir() or shutil.copy(f, folder / "sub" / "x.json")
                                or _edit(folder / "sub" / "x.json",
                                         lambda d: d.update(imagePath="../" + d["imagePath"])),
                                r"1 image\(s\) have more than one label file: .*json and .*json -> "),
    "point NaN": (lambda f, folder: f.write_text(f.read_text().replace("[10, 10]", "[NaN, 10]")),
                  r"\.json: shapes\[0\]: 'points' must be a list of \[x, y\] pairs of finite numbers"),
    "far outside": (lambda f, folder: _edit(f, lambda d: d["shapes"][1].update(points=[[1e9, 1], [2, 2], [3, 1]])),
                    r"\.json: shapes\[1\]: a point lies far outside the \d+x\d+ image"),
    "bad mask": (lambda f, folder: _edit(f, lambda d: d["shapes"][2].update(mask="not base64!")),
                 r"\.json: shapes\[2\]: 'mask' is not a base64 PNG"),
    "unknown shape type": (lambda f, folder: _edit(f, lambda d: d["shapes"][0].update(shape_type="blob")),
                           r"\.json: shapes\[0\]: unknown shape_type 'blob'"),
    "truncated": (lambda f, folder: f.write_text(f.read_text()[:200]),
                  r"\.json is not valid JSON \(line 1, column \d+\)"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_in_one_sentence_and_nothing_is_written(labelme_folder, capsys, case):
    folder, label, _img = labelme_folder
    breakage, expected = BAD[case]
    breakage(label, folder)
    before = snapshot(folder)
    assert run(["import", str(folder), str(folder), "--format", "labelme"]) == 2
    err = capsys.readouterr().err.strip()
    assert re.search(expected, err), err
    # one error sentence (progress lines of the read may come before it)
    assert len([ln for ln in err.splitlines() if 'error' in ln]) == 1 and 'Traceback' not in err
    assert snapshot(folder) == before and not (folder / ".maskwork").exists()
