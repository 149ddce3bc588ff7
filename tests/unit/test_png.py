"""PNG masks: aerial palette label maps and 16-bit instance maps, read and written losslessly."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.errors import InputError
from maskwork.core.formats import png
from maskwork.core.formats.coco import load_coco


@pytest.fixture(scope="module")
def aerial_masks(aerial_dir):
    return sorted((aerial_dir / "masks").glob("*.png"))[::16]  # one mask from several tiles


def test_aerial_label_maps_round_trip_bit_for_bit(aerial_dir, aerial_masks, tmp_path):
    sidecar = png.find_classes_sidecar(aerial_dir / "masks")
    assert sidecar == aerial_dir / "classes.json"
    classes = png.read_classes_json(sidecar)
    assert classes.names() == [c["name"] for c in json.loads(sidecar.read_text())]
    for src in aerial_masks:
        lm = png.read_label_png(src)
        with Image.open(src) as ref:
            assert np.array_equal(lm, np.asarray(ref))  # the stored class ids, untouched
        out = tmp_path / src.name
        png.write_label_png(out, lm, classes)
        back = png.read_label_png(out)
        assert back.dtype == np.uint8 and np.array_equal(back, lm)
        palette = png.read_png_palette(out)
        for c in classes:  # the palette holds the class colours
            assert palette[c.id] == c.color
        assert {i: palette[i] for i in classes.ids()} == {
            i: png.read_png_palette(src)[i] for i in classes.ids()}
    png.write_classes_json(tmp_path / "classes.json", classes)
    assert png.read_classes_json(tmp_path / "classes.json") == classes


def test_rgb_colour_masks_map_through_class_colours(aerial_dir, aerial_masks, tmp_path):
    classes = png.read_classes_json(aerial_dir / "classes.json")
    lm = png.read_label_png(aerial_masks[0])
    rgb = classes.palette()[lm]
    Image.fromarray(rgb).save(tmp_path / "colour.png")
    assert np.array_equal(png.read_label_png(tmp_path / "colour.png", classes), lm)
    with pytest.raises(InputError, match="classes.json"):
        png.read_label_png(tmp_path / "colour.png")
    rgb[0, 0] = (1, 2, 3)
    Image.fromarray(rgb).save(tmp_path / "odd.png")
    with pytest.raises(InputError, match=r"odd\.png.*#010203"):
        png.read_label_png(tmp_path / "odd.png", classes)


def test_many_classes_use_16_bit(tmp_path):
    lm = np.zeros((20, 30), np.uint16)
    lm[5:10, 5:25] = 300
    png.write_label_png(tmp_path / "big.png", lm)
    back = png.read_label_png(tmp_path / "big.png")
    assert back.dtype == np.uint16 and np.array_equal(back, lm)


def test_instance_png_round_trip_on_nuclei(nuclei_val, tmp_path):
    ds = load_coco(nuclei_val)
    ann = max(ds.annotations[:10], key=lambda a: len(a.corrected.instances))
    insts = ann.corrected.instances
    overlap = png.write_instance_png(tmp_path / "inst.png", insts, ann.height, ann.width, ds.classes)
    assert png.is_instance_png(tmp_path / "inst.png")
    back = png.read_instance_png(tmp_path / "inst.png")
    assert [(i.id, i.class_id) for i in back] == [(i.id, i.class_id) for i in insts]
    if overlap == 0:
        assert all(a.mask == b.mask for a, b in zip(back, insts))
    assert sum(i.mask.area for i in back) == sum(i.mask.area for i in insts) - overlap
    meta = json.loads((tmp_path / "inst.json").read_text())
    assert meta["instances"][0]["class_name"] == "nucleus"
    with Image.open(tmp_path / "inst.png") as img:
        assert img.mode.startswith("I")  # 16-bit


def test_overlaps_are_counted_and_later_instance_wins(tmp_path):
    from maskwork.core.domain.annotation import Instance
    from maskwork.core.domain.masks import Mask

    a = np.zeros((10, 10), bool)
    a[2:6, 2:6] = True
    b = np.zeros((10, 10), bool)
    b[4:8, 4:8] = True
    insts = [Instance(1, 1, Mask.from_full(a)), Instance(2, 1, Mask.from_full(b))]
    assert png.write_instance_png(tmp_path / "o.png", insts, 10, 10) == 4
    back = png.read_instance_png(tmp_path / "o.png")
    assert back[0].mask.area == 12 and back[1].mask.area == 16


@pytest.mark.parametrize("content", [b"", b"not a png at all"])
def test_bad_mask_files(tmp_path, content):
    (tmp_path / "m.png").write_bytes(content)
    with pytest.raises(InputError, match=r"m\.png"):
        png.read_label_png(tmp_path / "m.png")
    with pytest.raises(InputError, match=r"m\.png"):
        png.read_instance_png(tmp_path / "m.png")


def test_bad_classes_sidecar(tmp_path):
    (tmp_path / "classes.json").write_text('[{"id": 0, "name": "a"}, {"id": 1, "name": "a"}]')
    with pytest.raises(InputError, match="unique"):
        png.read_classes_json(tmp_path / "classes.json")
    (tmp_path / "classes.json").write_text('{"oops": 1')
    with pytest.raises(InputError, match="classes.json"):
        png.read_classes_json(tmp_path / "classes.json")


def test_classes_from_palette_without_sidecar(aerial_masks):
    classes = png.classes_from_palette(aerial_masks[0], [0, 1, 3])
    assert classes.ids() == [0, 1, 3]
    assert classes.get(1).color == png.read_png_palette(aerial_masks[0])[1]
    assert isinstance(classes, ClassList)
