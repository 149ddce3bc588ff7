"""COCO import/export on the real datasets, checked against pycocotools' own reading and COCOeval."""
from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.formats.coco import load_coco, masks_as_array
from maskwork.core.formats.coco_export import coco_export, polygons, to_coco, to_coco_results


@pytest.fixture(scope="module")
def nuclei(nuclei_val):
    return load_coco(nuclei_val)


@pytest.fixture(scope="module")
def nuclei_doc(nuclei_val):
    return json.loads(nuclei_val.read_text())


def _coco_api(doc: dict) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        api = COCO()
        api.dataset = copy.deepcopy(doc)
        api.createIndex()
    return api


def test_nuclei_rle_export_is_bit_for_bit(nuclei, nuclei_doc):
    out = to_coco(nuclei.annotations, nuclei.classes, mode="rle", **nuclei.carry())
    assert len(out["annotations"]) == len(nuclei_doc["annotations"]) == 4056
    orig = {a["id"]: a for a in nuclei_doc["annotations"]}
    for a in out["annotations"]:
        o = orig[a["id"]]
        assert a["image_id"] == o["image_id"] and a["category_id"] == o["category_id"]
        assert a["segmentation"] == o["segmentation"]  # same compressed RLE string
        assert a["area"] == o["area"] and a["bbox"] == o["bbox"]
    assert out["images"] == nuclei_doc["images"]  # ids, sizes and licence fields carried through
    assert out["info"] == nuclei_doc["info"] and out["licenses"] == nuclei_doc["licenses"]
    assert [c["name"] for c in out["categories"]] == ["nucleus"]
    assert out["categories"][0]["supercategory"] == "cell"


def test_nuclei_export_scores_ap_one_with_cocoeval(nuclei, nuclei_doc):
    results = to_coco_results(nuclei.annotations, nuclei.image_ids, layer="corrected")
    assert len(results) == 4056 and all(r["score"] == 1.0 for r in results)
    gt = _coco_api(nuclei_doc)
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, iouType="segm")
        ev.params.maxDets = [1, 10, 1000]  # nuclei images hold hundreds of objects
        ev.evaluate()
        ev.accumulate()
    # summarize() reads AP at maxDets=100 only; take AP over all detections from the precision table
    precision = ev.eval["precision"][:, :, :, 0, -1]  # [IoU thresholds, recall, classes], area "all"
    assert (precision > -1).all() and precision.mean() == pytest.approx(1.0)
    assert precision[0].mean() == pytest.approx(1.0)  # AP50


def test_polygon_export_reports_its_approximation(nuclei, nuclei_doc):
    subset = nuclei.annotations[:25]
    data, report = coco_export(subset, nuclei.classes, mode="polygon", image_ids=nuclei.image_ids)
    assert all(isinstance(a["segmentation"], list) for a in data["annotations"])
    assert len(report.polygon_ious) == len(data["annotations"]) == sum(len(a.corrected.instances) for a in subset)
    # recompute the IoU independently from the written JSON
    orig = {a["id"]: a for a in nuclei_doc["annotations"]}
    ious = []
    for a in data["annotations"]:
        img = next(i for i in data["images"] if i["id"] == a["image_id"])
        poly = mask_utils.merge(mask_utils.frPyObjects(a["segmentation"], img["height"], img["width"]))
        seg = dict(orig[a["id"]]["segmentation"])
        seg["counts"] = seg["counts"].encode()
        ious.append(float(mask_utils.iou([poly], [seg], [0])[0][0]))
    assert report.mean_polygon_iou == pytest.approx(np.mean(ious), abs=1e-9)
    assert report.mean_polygon_iou > 0.95 and "mean IoU" in report.summary()


def test_polygons_cannot_hold_holes_and_say_so():
    full = np.zeros((40, 50), bool)
    full[5:30, 5:40] = True
    full[12:20, 15:25] = False  # a hole
    mask = Mask.from_full(full)
    polys, holes = polygons(mask)
    assert holes == 1 and len(polys) == 1
    from maskwork.core.domain.annotation import ClassList, ImageAnnotation, Instance, Layer

    ann = ImageAnnotation("x.png", 50, 40, corrected=Layer(instances=[Instance(1, 1, mask)]))
    _data, report = coco_export([ann], ClassList.from_names(["bg", "thing"]), mode="polygon")
    assert report.holes_dropped == 1 and "holes" in report.summary()
    assert report.polygon_ious[0] == pytest.approx(mask.area / (mask.area + 80))


def test_coco_sample_polygons_and_crowd_match_pycocotools(coco_sample_val):
    ds = load_coco(coco_sample_val, coco_sample_val.parent / "val2017")
    doc = json.loads(coco_sample_val.read_text())
    api = _coco_api(doc)
    assert len(ds.classes) == len(doc["categories"])
    assert sum(len(a.corrected.instances) for a in ds.annotations) == len(doc["annotations"])
    crowd = 0
    for ann in ds.annotations:
        iid = ds.image_ids[ann.file_name]
        assert ds.image_extras[ann.file_name]["flickr_url"] == api.imgs[iid]["flickr_url"]
        for inst in ann.corrected.instances:
            ref = api.anns[inst.id]
            assert inst.class_id == ref["category_id"] and inst.iscrowd == bool(ref["iscrowd"])
            truth = api.annToMask(ref).astype(bool)
            assert np.array_equal(inst.mask.to_full(), truth)
            assert inst.mask.area == int(mask_utils.area(api.annToRLE(ref)))
            crowd += inst.iscrowd
    assert crowd == sum(a["iscrowd"] for a in doc["annotations"]) > 0
    data, report = coco_export(ds.annotations, ds.classes, mode="polygon", image_ids=ds.image_ids)
    assert report.kept_as_rle == crowd  # crowd regions stay RLE, as in COCO
    assert {c["id"] for c in data["categories"]} == {c["id"] for c in doc["categories"]}


# ---- bad input: each names the file and the item, and says what to do ------------------------
def _write(tmp_path, doc, name="bad.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def small_doc(nuclei_doc):
    doc = copy.deepcopy(nuclei_doc)
    keep = {doc["images"][0]["id"], doc["images"][1]["id"]}
    doc["images"] = [i for i in doc["images"] if i["id"] in keep]
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] in keep]
    return doc


def test_truncated_json_shows_line_and_column(tmp_path, nuclei_val):
    text = nuclei_val.read_text()
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2])
    with pytest.raises(InputError, match=r"cut\.json.*line \d+, column \d+.*truncated"):
        load_coco(path)


@pytest.mark.parametrize("breakage, expected", [
    (lambda d: d["annotations"][0].update(image_id=987654321), r"annotation id \d+.*image id 987654321"),
    (lambda d: d["annotations"][1].update(category_id=42), r"annotation id \d+.*unknown category id 42"),
    (lambda d: d["annotations"][2]["segmentation"].update(size=[7, 9]), r"annotation id \d+.*7x9.*does not match"),
    (lambda d: d["annotations"][3].pop("segmentation"), r"annotations\[3\].*missing key.*segmentation"),
    (lambda d: d["images"][0].pop("width"), r"images\[0\].*missing key.*width"),
    (lambda d: d.pop("categories"), r"'categories' must be a list"),
    (lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3]]), r"annotation id \d+.*polygon 0"),
    (lambda d: d["annotations"][0].update(segmentation=[[0, 0, 1e9, 0, 0, 1e9]]), r"polygon 0 .* far outside"),
    (lambda d: d["annotations"][0]["segmentation"].update(counts=[5, 5]), r"annotation id \d+.*add up to 10"),
    (lambda d: d["categories"].append(dict(d["categories"][0])), r"category id 1.*already"),
])
def test_broken_items_are_named(tmp_path, small_doc, breakage, expected):
    breakage(small_doc)
    path = _write(tmp_path, small_doc)
    with pytest.raises(InputError, match=expected) as err:
        load_coco(path)
    assert "bad.json" in str(err.value)


def test_missing_image_file_on_disk(tmp_path, small_doc, nuclei_val):
    images = tmp_path / "images"
    images.mkdir()
    first = small_doc["images"][0]["file_name"]
    shutil.copy(nuclei_val.parent / "images" / first, images / first)
    path = _write(tmp_path, small_doc)
    with pytest.raises(InputError, match=r"image id \d+.*does not exist"):
        load_coco(path, images)
    small_doc["images"][0]["width"] += 10
    path = _write(tmp_path, small_doc)
    with pytest.raises(InputError, match=r"the JSON says .* pixels"):
        load_coco(path, images)


def test_results_list_is_not_a_dataset(tmp_path):
    path = _write(tmp_path, [{"image_id": 1, "category_id": 1, "score": 0.5}])
    with pytest.raises(InputError, match="detection-results"):
        load_coco(path)


def test_masks_as_array(nuclei):
    ann = nuclei.annotations[0]
    arr = masks_as_array(ann)
    assert arr.shape == (len(ann.corrected.instances), ann.height, ann.width)
    assert arr.sum() == sum(i.mask.area for i in ann.corrected.instances)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 25), st.integers(1, 25), st.integers(0, 2**32 - 1), st.floats(0, 1))
def test_fast_rle_equals_full_image_encoding(h, w, seed, density):
    """The export's RLE, built from the crop only, is byte-identical to encoding the whole image."""
    from maskwork.core.formats.coco_export import _rle

    full = np.random.default_rng(seed).random((h, w)) < density
    mask = Mask.from_full(full)
    assert _rle(mask) == mask.to_rle()
    assert Mask.from_rle(_rle(mask)) == mask


def test_progress_and_cancel(nuclei_val, nuclei):
    from maskwork.core.domain.errors import Cancelled
    from maskwork.core.domain.progress import CancelToken

    seen = []
    load_coco(nuclei_val, progress=lambda done, total, msg="": seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1] == 4056 and len(seen) > 10
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        load_coco(nuclei_val, cancel=token)
    steps = []
    coco_export(nuclei.annotations[:5], nuclei.classes, progress=lambda d, t, m="": steps.append(d))
    assert steps == [0, 1, 2, 3, 4, 5]
    with pytest.raises(Cancelled):
        coco_export(nuclei.annotations[:5], nuclei.classes, cancel=token)
