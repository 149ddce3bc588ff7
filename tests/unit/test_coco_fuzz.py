"""Fuzz load_coco: whatever the file holds, it returns a dataset or raises InputError, nothing else."""
from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maskwork.core.domain.errors import InputError
from maskwork.core.formats.coco import load_coco

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
json_value = st.recursive(json_leaf, lambda kids: st.one_of(
    st.lists(kids, max_size=5), st.dictionaries(st.text(max_size=8), kids, max_size=5)), max_leaves=20)

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def seed_doc(nuclei_val, coco_sample_val):
    """A small real COCO document: one nuclei image (RLE) plus one COCO image (polygons, crowd)."""
    nuc = json.loads(nuclei_val.read_text())
    coco = json.loads(coco_sample_val.read_text())
    crowd = next(a for a in coco["annotations"] if a["iscrowd"])
    img = next(i for i in coco["images"] if i["id"] == crowd["image_id"])
    doc = {"info": nuc["info"], "licenses": nuc["licenses"], "images": [nuc["images"][0], img],
           "categories": nuc["categories"] + [c for c in coco["categories"] if c["id"] != 1]}
    doc["annotations"] = [a for a in nuc["annotations"] if a["image_id"] == nuc["images"][0]["id"]][:4]
    doc["annotations"] += [a for a in coco["annotations"] if a["image_id"] == img["id"]][:4] + [crowd]
    return doc


def _load(payload: bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.json"
        path.write_bytes(payload)
        try:
            return load_coco(path)
        except InputError as exc:
            assert "fuzz.json" in str(exc)  # every message names the file
            return None


def test_seed_is_valid(seed_doc):
    ds = _load(json.dumps(seed_doc).encode())
    assert ds is not None and sum(len(a.corrected.instances) for a in ds.annotations) == len(seed_doc["annotations"])


@FUZZ
@given(value=json_value)
def test_any_json_value(value):
    _load(json.dumps(value).encode())


@FUZZ
@given(data=st.data())
def test_mutated_real_document(seed_doc, data):
    doc = copy.deepcopy(seed_doc)
    for _ in range(data.draw(st.integers(1, 3))):
        node = doc
        # walk down a random path, then replace, delete or retype what is there
        while isinstance(node, (dict, list)) and node and data.draw(st.booleans()):
            key = data.draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
            child = node[key]
            if not isinstance(child, (dict, list)) or not child:
                break
            node = child
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node)))
            if data.draw(st.booleans()):
                del node[key]
            else:
                node[key] = data.draw(json_value)
        elif isinstance(node, list) and node:
            node[data.draw(st.integers(0, len(node) - 1))] = data.draw(json_value)
    _load(json.dumps(doc).encode())


@FUZZ
@given(data=st.data())
def test_damaged_bytes(seed_doc, data):
    raw = bytearray(json.dumps(seed_doc).encode())
    cut = data.draw(st.integers(0, len(raw)))
    raw = raw[:cut] if data.draw(st.booleans()) else raw
    for _ in range(data.draw(st.integers(0, 4))):
        if raw:
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    _load(bytes(raw))


@FUZZ
@given(polys=st.lists(st.lists(st.one_of(st.floats(-50, 400), st.floats(-1e300, 1e300), st.integers(-2**62, 2**62)),
                               min_size=0, max_size=12), min_size=0, max_size=3))
def test_any_polygon(seed_doc, polys):
    """pycocotools crashes the process on huge coordinates: they must be refused before it sees them."""
    doc = copy.deepcopy(seed_doc)
    doc["annotations"][0]["segmentation"] = polys
    _load(json.dumps(doc).encode())
