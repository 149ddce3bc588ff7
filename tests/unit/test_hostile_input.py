"""Hostile input stays cheap: tiny files that describe huge masks or images are refused fast and
with little memory, every COCO mask goes through one strict decoder, and image paths read from a
COCO file stay inside the dataset folder (issue 9, "Hostile input stays cheap")."""
from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pycocotools import mask as mask_utils

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.domain.rle import counts_from_string
from maskwork.core.formats.coco import decode_segmentation, load_coco
from maskwork.core.formats.compare_files import compare_coco
from maskwork.core.training.datasets import from_coco

ROOT = Path(__file__).resolve().parents[2]
BIG = 14_000  # a 14000 x 14000 image entry: 196 MP, just under the 200 MP limit
HERE = Path("x.json")

# Runs `main.py import` in a fresh interpreter and reports its peak memory. The address-space limit
# keeps a regression from taking the machine down with it (the old code needed ~20 GB for case "many").
# Peak memory is VmHWM of the child's own address space: ru_maxrss would also count the parent's
# pages from before the exec (the forked copy of a pytest that has loaded torch is ~900 MB).
CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
def hwm_mb():
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
from maskwork.core.cli import run
# all that `import` needs
import maskwork.core.cli.io_commands, maskwork.core.formats.coco, maskwork.core.formats.project_io
import maskwork.core.store.project
base = hwm_mb()
start = time.perf_counter()
rc = run(json.loads(sys.argv[1]))
seconds = time.perf_counter() - start
print(json.dumps({"rc": rc, "seconds": seconds, "base_mb": base, "peak_mb": hwm_mb(),
                  "torch": "torch" in sys.modules}))
"""


def _import_cost(project: Path, coco: Path) -> tuple[dict, str]:
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(["import", str(coco), str(project)])],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines, f"the import crashed (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(lines[-1]), proc.stderr


def _doc(images: list[tuple[str, int, int]], segmentations: list) -> dict:
    return {"images": [{"id": k + 1, "file_name": n, "width": w, "height": h} for k, (n, w, h) in enumerate(images)],
            "categories": [{"id": 1, "name": "thing"}],
            "annotations": [{"id": k + 1, "image_id": 1, "category_id": 1, "segmentation": s}
                            for k, s in enumerate(segmentations)]}


HUGE_POLYGON = [[0, 0, BIG, 0, BIG, BIG, 0, BIG]]
HUGE_RLE = {"size": [BIG, BIG], "counts": [0, BIG * BIG]}


def _bomb_png(path: Path, side: int = 30_000) -> None:
    """A valid 1-bit PNG of side x side black pixels, ~100 KB on disk, 900 MP once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" * (1 + (side + 7) // 8)  # filter byte + packed bits
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row * 1000) for _ in range(side // 1000)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


@pytest.fixture
def project(tmp_path, nuclei_val) -> Path:
    """A project folder with one small real image, small.png."""
    folder = tmp_path / "project"
    folder.mkdir()
    first = json.loads(nuclei_val.read_text())["images"][0]["file_name"]
    shutil.copy(nuclei_val.parent / "images" / first, folder / "small.png")
    return folder


# ---- the goal: each refused in < 2 s with < 500 MB peak, by a real `main.py import` -------------------
@pytest.mark.parametrize("case", ["polygon", "rle", "many", "entry_lies", "png_bomb"])
def test_hostile_import_is_refused_fast_and_small(project, tmp_path, case):
    small_w, small_h = Image.open(project / "small.png").size
    if case == "polygon":  # 249 bytes: one polygon over a 14000 x 14000 image that is not there
        doc, expected = _doc([("big.png", BIG, BIG)], [HUGE_POLYGON]), "not in the project folder"
    elif case == "rle":
        doc, expected = _doc([("big.png", BIG, BIG)], [HUGE_RLE]), "not in the project folder"
    elif case == "many":  # 100 of them, ~10 KB: the old importer needed ~20 GB
        doc = _doc([("big.png", BIG, BIG)], [HUGE_POLYGON, HUGE_RLE] * 50)
        expected = "not in the project folder"
    elif case == "entry_lies":  # the image is there but small; the entry says 14000 x 14000
        doc = _doc([("small.png", BIG, BIG)], [HUGE_POLYGON, HUGE_RLE] * 50)
        expected = rf"is {BIG}x{BIG} but the image is {small_w}x{small_h}"
    else:  # a 30000 x 30000 PNG: Pillow calls it a bomb; its size must come from the header only
        _bomb_png(project / "bomb.png")
        doc, expected = _doc([("bomb.png", 100, 100)], [[[1, 1, 50, 1, 50, 50]]]), r"bomb\.png is too large"
    coco = tmp_path / "hostile.json"
    coco.write_text(json.dumps(doc))
    cost, err = _import_cost(project, coco)
    assert cost["rc"] == 2 and re.search(expected, err), err
    assert cost["base_mb"] < 250, f"the interpreter alone takes {cost['base_mb']:.0f} MB: the bound means nothing"
    assert cost["peak_mb"] < 500, f"peak {cost['peak_mb']:.0f} MB (baseline {cost['base_mb']:.0f} MB)"
    assert cost["seconds"] < 2.0, f"took {cost['seconds']:.1f} s"
    assert not cost["torch"], "`import` must not load torch"


# ---- the decoder: memory of the object's box, not of the image ---------------------------------------
def _traced_peak(fn):
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_rle_of_a_thin_wide_object_costs_its_box_only():
    """Two pixels in row 5, in the first and the last column of a 5000 x 5000 image: the old decoder
    made int64 arrays over every column it spanned (25 M pixels, ~600 MB)."""
    side = 5000
    full = np.zeros((side, side), np.uint8, order="F")
    full[5, 0] = full[5, side - 1] = 1
    rle = mask_utils.encode(full)
    mask, peak = _traced_peak(lambda: decode_segmentation(rle | {"counts": rle["counts"].decode()}, side, side,
                                                          HERE, "a"))
    assert mask.bbox == (0, 5, side, 1) and mask.area == 2
    assert peak < 2_000_000, f"decoding allocated {peak / 1e6:.0f} MB"


def test_polygon_of_a_thin_wide_object_costs_its_box_only():
    side = 5000
    poly = [[0, 10, side - 1, 10, side - 1, 12, 0, 12]]
    mask, peak = _traced_peak(lambda: decode_segmentation(poly, side, side, HERE, "a"))
    ref = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(poly, side, side))).astype(bool)
    assert np.array_equal(mask.to_full(), ref)
    assert mask.crop.shape[0] <= 4 and peak < 2_000_000, f"decoding allocated {peak / 1e6:.0f} MB"


def test_polygon_with_an_endless_outline_is_refused():
    """Zig-zags between far corners: pycocotools would allocate ~20 bytes per 1/5 pixel of outline."""
    poly = [v for k in range(200) for v in ((-1999, -1999) if k % 2 else (3999, 3999))]
    with pytest.raises(InputError, match=r"x\.json: a: its polygons are more than .* pixels long.*Simplify"):
        decode_segmentation([poly], 2000, 2000, HERE, "a")


def test_masks_of_images_above_the_limit_are_refused():
    with pytest.raises(InputError, match=r"x\.json: a: its image is 20000x20000 pixels, outside 1\.\.200 MP"):
        decode_segmentation({"size": [20000, 20000], "counts": [400_000_000]}, 20000, 20000, HERE, "a")


def test_overlong_rle_values_are_refused():
    """A value that never ends grew a Python int digit by digit (quadratic time); no count needs 13 digits."""
    assert counts_from_string(b"o" * 13 + b"0") is None
    assert counts_from_string(b"o" * 200_000 + b"0") is None
    with pytest.raises(ValueError, match="malformed"):
        Mask.from_rle({"size": [3, 3], "counts": b"o" * 20 + b"0"})


def test_huge_runs_cannot_wrap_around_to_the_image_size():
    """Two runs of 2**63 - 1 sum past int64 and wrapped to exactly h*w = 4: the old decoder took this
    damaged RLE as an empty mask. Each run is now checked against the image first."""
    with pytest.raises(ValueError, match="cover"):
        Mask.from_rle({"size": [2, 2], "counts": [2**63 - 1, 2**63 - 1, 6]})


@settings(max_examples=150, deadline=None)
@given(st.integers(25, 40), st.integers(25, 40),  # points up to an image size outside it are allowed
       st.lists(st.lists(st.floats(-10, 50, allow_nan=False), min_size=6, max_size=16)
                .filter(lambda p: len(p) % 2 == 0), min_size=1, max_size=3))
def test_polygons_match_pycocotools_exactly(h, w, polys):
    """Each polygon is rasterised by pycocotools and decoded in its box; the union equals its merge."""
    mask = decode_segmentation(polys, h, w, HERE, "a")
    ref = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polys, h, w))).astype(bool)
    assert np.array_equal(mask.to_full(), ref)


# ---- one strict decoder for train / evaluate / iou ----------------------------------------------------
def _one_image_coco(tmp_path, nuclei_val, segmentation=None, file_name=None) -> Path:
    """images/<name> (a real nuclei image) + data.json with one annotation of it."""
    src = json.loads(nuclei_val.read_text())
    img = src["images"][0]
    ann = next(a for a in src["annotations"] if a["image_id"] == img["id"])
    (tmp_path / "images").mkdir(exist_ok=True)
    shutil.copy(nuclei_val.parent / "images" / img["file_name"], tmp_path / "images" / img["file_name"])
    doc = {"images": [dict(img, file_name=file_name or img["file_name"])], "categories": src["categories"],
           "annotations": [dict(ann, segmentation=segmentation or ann["segmentation"])]}
    path = tmp_path / "data.json"
    path.write_text(json.dumps(doc))
    return path


def _damaged(segmentation: dict) -> dict:
    return dict(segmentation, counts=segmentation["counts"][: len(segmentation["counts"]) // 2])


def test_train_and_evaluate_refuse_a_damaged_rle(tmp_path, nuclei_val):
    """pycocotools' annToMask read a cut RLE as whatever memory followed it: a different mask on each run."""
    good = _one_image_coco(tmp_path, nuclei_val)
    seg = json.loads(good.read_text())["annotations"][0]["segmentation"]
    bad = _one_image_coco(tmp_path, nuclei_val, segmentation=_damaged(seg))
    with pytest.raises(InputError, match=r"data\.json: annotation id .*cannot be decoded"):
        from_coco(bad)


def test_train_data_masks_are_the_importers_masks(tmp_path, nuclei_val):
    path = _one_image_coco(tmp_path, nuclei_val)
    item = from_coco(path).items[0]
    ann = load_coco(path, tmp_path / "images").annotations[0]
    targets = item.instances()
    assert np.array_equal(targets.masks[0], ann.corrected.instances[0].mask.to_full())
    assert targets.class_ids.tolist() == [1]


def test_iou_refuses_a_damaged_rle_below_the_score_threshold(tmp_path, nuclei_val):
    gt = _one_image_coco(tmp_path, nuclei_val)
    doc = json.loads(gt.read_text())
    det = {"image_id": doc["images"][0]["id"], "category_id": 1, "score": 0.1,
           "segmentation": _damaged(doc["annotations"][0]["segmentation"])}
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps([det]))
    with pytest.raises(InputError, match=r"pred\.json: detection for image id .*cannot be decoded"):
        compare_coco(gt, pred, score_threshold=0.5)


# ---- image paths from a COCO file stay inside the dataset folder -------------------------------------
@pytest.mark.parametrize("name", ["../outside.png", "/ABS/outside.png", "images/../../outside.png",
                                  "..\\outside.png"])
def test_image_paths_outside_the_folder_are_refused(tmp_path, nuclei_val, name):
    """A real image next to the dataset folder: the old code opened it (and would open /etc/passwd)."""
    data = tmp_path / "data"
    data.mkdir()
    path = _one_image_coco(data, nuclei_val)
    real = json.loads(path.read_text())["images"][0]["file_name"]
    shutil.copy(data / "images" / real, tmp_path / "outside.png")
    shutil.copy(data / "images" / real, data / "outside.png")
    name = name.replace("/ABS", str(tmp_path))
    doc = json.loads(path.read_text())
    doc["images"][0]["file_name"] = name
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"data\.json: image id .*'file_name' .* points outside the image folder"):
        load_coco(path, data / "images")
    with pytest.raises(InputError, match="points outside the image folder"):
        from_coco(path, data / "images")
    with pytest.raises(InputError, match="points outside the image folder"):
        from_coco(path)  # the image folder guessed from the file's first image


@pytest.mark.parametrize("doc, says", [({"images": 5}, "'categories' must be a list"),
                                       ({"images": [{"id": 1}], "categories": []}, "images"),
                                       ([], "detection-results file")])
def test_a_malformed_coco_given_to_train_or_compare_says_what_is_wrong(tmp_path, doc, says):
    """Without an image list to look for, the reader's own sentence comes back, not 'cannot find the images'."""
    (tmp_path / "images").mkdir()
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError) as err:
        from_coco(path)
    assert says in str(err.value) and "cannot find the images" not in str(err.value)
