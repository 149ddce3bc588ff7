"""`main.py import / export / iou` on real data (through core.cli.run, and once as a subprocess)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskwork.core.cli import run
from maskwork.core.formats import png
from maskwork.core.store.project import Project

ROOT = Path(__file__).resolve().parents[2]


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def aerial_small(aerial_dir, tmp_path):
    """3 aerial images (project folder) and their palette masks + classes.json (mask folder)."""
    proj, masks = tmp_path / "aerial", tmp_path / "masks"
    proj.mkdir()
    masks.mkdir()
    for src in sorted((aerial_dir / "images").glob("*.jpg"))[::25]:
        shutil.copy(src, proj / src.name)
        shutil.copy(aerial_dir / "masks" / (src.stem + ".png"), masks / (src.stem + ".png"))
    shutil.copy(aerial_dir / "classes.json", masks / "classes.json")
    return proj, masks


def test_coco_import_export_iou(nuclei_small, tmp_path, capsys):
    folder, gt, doc = nuclei_small
    assert run(["import", str(gt), str(folder)]) == 0
    project = Project.open(folder)
    assert project.task == "instance" and project.classes.names() == ["nucleus"]
    out = tmp_path / "out.json"
    assert run(["export", str(folder), str(out)]) == 0
    exported = json.loads(out.read_text())
    assert exported["images"] == doc["images"] and exported["licenses"] == doc["licenses"]
    by_id = {a["id"]: a for a in exported["annotations"]}
    assert len(by_id) == len(doc["annotations"])
    for a in doc["annotations"]:
        assert by_id[a["id"]]["segmentation"] == a["segmentation"]
        assert by_id[a["id"]]["area"] == a["area"] and by_id[a["id"]]["bbox"] == a["bbox"]
    capsys.readouterr()
    metrics = tmp_path / "m.json"
    assert run(["iou", "--gt", str(gt), "--pred", str(out), "--json", str(metrics)]) == 0
    printed = capsys.readouterr().out
    assert "mask AP" in printed and "1.0000" in printed
    m = json.loads(metrics.read_text())
    assert m["matched"] == m["num_gt"] == len(doc["annotations"]) and m["coco"]["AP"] == pytest.approx(1.0)


def test_polygon_export_scores_close_to_the_truth(nuclei_small, tmp_path, capsys):
    folder, gt, doc = nuclei_small
    assert run(["import", str(gt), str(folder)]) == 0
    out = tmp_path / "poly.json"
    assert run(["export", str(folder), str(out), "--format", "coco-polygon"]) == 0
    assert "polygons re-rasterised vs masks: mean IoU" in capsys.readouterr().out
    metrics = tmp_path / "m.json"
    assert run(["iou", "--gt", str(gt), "--pred", str(out), "--json", str(metrics)]) == 0
    m = json.loads(metrics.read_text())
    assert m["recall"] > 0.99 and m["mean_matched_iou"] > 0.95


def test_import_never_overwrites_without_flag(nuclei_small, capsys):
    folder, gt, doc = nuclei_small
    assert run(["import", str(gt), str(folder)]) == 0
    before = _snapshot(folder)
    assert run(["import", str(gt), str(folder)]) == 2
    err = capsys.readouterr().err
    assert "--overwrite" in err and "already have corrected work" in err
    assert _snapshot(folder) == before
    assert run(["import", str(gt), str(folder), "--overwrite"]) == 0


@pytest.mark.parametrize("breakage, expected", [
    ("truncate", r"gt\.json is not valid JSON.*line \d+, column \d+"),
    ("missing_image", r"not in the project folder"),
    ("wrong_size", r"is \d+x\d+ but the image is \d+x\d+"),
    ("unknown_category", r"annotation id \d+.*unknown category id 7"),
])
def test_bad_coco_changes_nothing(nuclei_small, capsys, breakage, expected):
    folder, gt, doc = nuclei_small
    if breakage == "truncate":
        gt.write_text(gt.read_text()[:5000])
    elif breakage == "missing_image":
        (folder / doc["images"][3]["file_name"]).unlink()
    elif breakage == "wrong_size":
        name = doc["images"][2]["file_name"]
        with Image.open(folder / name) as img:
            img.resize((img.width // 2, img.height // 2)).save(folder / name)
    elif breakage == "unknown_category":
        doc["annotations"][5]["category_id"] = 7
        gt.write_text(json.dumps(doc))
    before = _snapshot(folder)
    assert run(["import", str(gt), str(folder)]) == 2
    assert re.search(expected, capsys.readouterr().err)
    assert _snapshot(folder) == before and not (folder / ".maskwork").exists()


def test_png_import_export_iou(aerial_small, tmp_path, capsys):
    proj, masks = aerial_small
    assert run(["import", str(masks), str(proj)]) == 0
    project = Project.open(proj)
    classes = png.read_classes_json(masks / "classes.json")
    assert project.task == "semantic" and project.classes == classes
    out = tmp_path / "exported"
    assert run(["export", str(proj), str(out)]) == 0
    for src in sorted(masks.glob("*.png")):
        assert np.array_equal(png.read_label_png(out / src.name), png.read_label_png(src))
        palette = png.read_png_palette(out / src.name)
        assert all(palette[c.id] == c.color for c in classes)
    assert png.read_classes_json(out / "classes.json") == classes
    capsys.readouterr()
    assert run(["iou", "--gt", str(masks), "--pred", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "mIoU" in printed and "1.0000" in printed


def test_semantic_iou_matches_numpy(aerial_small, tmp_path):
    proj, masks = aerial_small
    pred = tmp_path / "pred"
    shutil.copytree(masks, pred)
    gts, preds = [], []
    for k, f in enumerate(sorted(pred.glob("*.png"))):
        lm = png.read_label_png(f)
        gts.append(lm.copy())
        lm[: lm.shape[0] // (k + 2), : lm.shape[1] // 3] = k + 1  # paint a wrong class over a corner
        png.write_label_png(f, lm, png.read_classes_json(masks / "classes.json"))
        preds.append(lm)
    metrics = tmp_path / "m.json"
    assert run(["iou", "--gt", str(masks), "--pred", str(pred), "--json", str(metrics)]) == 0
    m = json.loads(metrics.read_text())
    g, p = np.concatenate([x.ravel() for x in gts]), np.concatenate([x.ravel() for x in preds])
    counted = g != 0  # "unlabeled" is not scored
    g, p = g[counted], p[counted]
    assert m["pixel_accuracy"] == pytest.approx(np.mean(g == p))
    names = [c["name"] for c in json.loads((masks / "classes.json").read_text())]
    ious = []
    for cid in range(1, 6):
        union = np.sum((g == cid) | (p == cid))
        if union:
            ious.append(np.sum((g == cid) & (p == cid)) / union)
            assert m["per_class_iou"][names[cid]] == pytest.approx(ious[-1])
    assert m["mean_iou"] == pytest.approx(np.mean(ious)) and m["mean_iou"] < 1.0


def test_png_mask_of_wrong_size_is_refused(aerial_small, capsys):
    proj, masks = aerial_small
    victim = sorted(masks.glob("*.png"))[1]
    lm = png.read_label_png(victim)
    png.write_label_png(victim, lm[:-4], png.read_classes_json(masks / "classes.json"))
    assert run(["import", str(masks), str(proj)]) == 2
    err = capsys.readouterr().err
    assert victim.stem in err and "Nothing was imported" in err
    assert not (proj / ".maskwork").exists()


def test_instance_png_round_trip_through_a_project(nuclei_small, tmp_path):
    folder, gt, doc = nuclei_small
    assert run(["import", str(gt), str(folder)]) == 0
    out = tmp_path / "inst"
    assert run(["export", str(folder), str(out), "--format", "instance-png", "--images", "*.png"]) == 0
    other = tmp_path / "copy"
    shutil.copytree(folder, other, ignore=shutil.ignore_patterns(".maskwork"))
    assert run(["import", str(out), str(other)]) == 0
    a, b = Project.open(folder), Project.open(other)
    assert b.task == "instance"
    for name in a.image_names():
        x, y = a.annotation(name).corrected.instances, b.annotation(name).corrected.instances
        assert [i.id for i in x] == [i.id for i in y]
        # overlapping nuclei lose their shared pixels to the later one in a single-channel PNG
        assert sum(i.mask.intersection(j.mask) for i, j in zip(x, y)) >= 0.99 * sum(i.mask.area for i in x)


def test_main_py_subprocess(aerial_small):
    proj, masks = aerial_small
    res = subprocess.run([sys.executable, str(ROOT / "main.py"), "iou", "--gt", str(masks), "--pred", str(masks)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "mIoU" in res.stdout and "building" in res.stdout
    bad = subprocess.run([sys.executable, str(ROOT / "main.py"), "import", str(masks / "nope.json"), str(proj)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "nope.json" in bad.stderr


def test_coco_into_a_new_semantic_project(nuclei_small, tmp_path):
    folder, gt, doc = nuclei_small
    assert run(["import", str(gt), str(folder), "--task", "semantic"]) == 0
    assert Project.open(folder).task == "semantic"
    out = tmp_path / "labels"
    assert run(["export", str(folder), str(out)]) == 0  # a folder: PNG label maps for a semantic project
    first = doc["images"][0]
    lm = png.read_label_png(out / first["file_name"])
    assert lm.shape == (first["height"], first["width"]) and set(np.unique(lm)) == {0, 1}
    assert run(["import", str(gt), str(folder), "--task", "instance", "--overwrite"]) == 2


def test_iou_matches_categories_by_name(nuclei_small, tmp_path, capsys):
    folder, gt, doc = nuclei_small
    pred = json.loads(gt.read_text())
    pred["categories"] = [{"id": 5, "name": "nucleus"}, {"id": 1, "name": "debris"}]  # other ids, extra class
    for a in pred["annotations"]:
        a["category_id"], a["score"] = 5, 0.9
    (tmp_path / "pred.json").write_text(json.dumps(pred))
    metrics = tmp_path / "m.json"
    assert run(["iou", "--gt", str(gt), "--pred", str(tmp_path / "pred.json"), "--json", str(metrics)]) == 0
    assert json.loads(metrics.read_text())["coco"]["AP"] == pytest.approx(1.0)
    pred["annotations"][0]["category_id"] = 1
    (tmp_path / "pred.json").write_text(json.dumps(pred))
    assert run(["iou", "--gt", str(gt), "--pred", str(tmp_path / "pred.json")]) == 2
    assert "debris" in capsys.readouterr().err


def test_iou_accepts_a_results_list(nuclei_small, tmp_path, capsys):
    from maskwork.core.formats.coco import load_coco
    from maskwork.core.formats.coco_export import to_coco_results

    folder, gt, doc = nuclei_small
    ds = load_coco(gt)
    results = to_coco_results(ds.annotations, ds.image_ids, layer="corrected")
    results = [r for k, r in enumerate(results) if k % 4]  # miss a quarter of the objects
    (tmp_path / "res.json").write_text(json.dumps(results))
    metrics = tmp_path / "m.json"
    assert run(["iou", "--gt", str(gt), "--pred", str(tmp_path / "res.json"), "--json", str(metrics)]) == 0
    m = json.loads(metrics.read_text())
    assert m["matched"] == len(results) and m["recall"] == pytest.approx(len(results) / len(doc["annotations"]))
    assert m["precision"] == 1.0 and m["coco"]["AP"] < 1.0
    assert run(["iou", "--gt", str(tmp_path / "res.json"), "--pred", str(gt)]) == 2
    assert "detection-results" in capsys.readouterr().err


@pytest.mark.parametrize("bad, expected", [
    ([{"image_id": 1}], "detection #0 is not an object"),
    (["x"], "detection #0 is not an object"),
    ([{"image_id": -5, "category_id": 1, "segmentation": [], "score": 1}], "image id -5"),
    ([{"image_id": "IMG", "category_id": 1, "segmentation": {"size": [2, 2], "counts": "zz"}}], r"2x2.*does not match"),
    ([{"image_id": "IMG", "category_id": 1, "segmentation": [], "score": "high"}], "score 'high'"),
])
def test_iou_refuses_broken_results(nuclei_small, tmp_path, capsys, bad, expected):
    folder, gt, doc = nuclei_small
    for d in bad:
        if isinstance(d, dict) and d.get("image_id") == "IMG":
            d["image_id"] = doc["images"][0]["id"]
    (tmp_path / "res.json").write_text(json.dumps(bad))
    assert run(["iou", "--gt", str(gt), "--pred", str(tmp_path / "res.json")]) == 2
    err = capsys.readouterr().err
    assert re.search(expected, err) and "res.json" in err


def test_semantic_project_to_coco_one_object_per_class(aerial_small, tmp_path):
    from maskwork.core.formats.coco import load_coco

    proj, masks = aerial_small
    assert run(["import", str(masks), str(proj)]) == 0
    out = tmp_path / "stuff.json"
    assert run(["export", str(proj), str(out), "--images", "tile1*", "tile3*"]) == 0
    ds = load_coco(out)
    assert ds.annotations and all(a.file_name.startswith(("tile1", "tile3")) for a in ds.annotations)
    for ann in ds.annotations:
        lm = png.read_label_png(masks / (Path(ann.file_name).stem + ".png"))
        assert sorted(i.class_id for i in ann.corrected.instances) == [int(c) for c in np.unique(lm) if c != 0]
        for inst in ann.corrected.instances:  # COCO-stuff style: the whole region of each class
            assert np.array_equal(inst.mask.to_full(), lm == inst.class_id)
    assert "unlabeled" not in ds.classes.names()
