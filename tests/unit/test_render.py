"""core.view.render: a window renders exactly the slice of the full render (so partial repaints never
leave seams), colours come from the class palette, hit tests find the topmost instance."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from maskwork.core.domain.annotation import ClassList, Layer
from maskwork.core.formats.coco import load_coco
from maskwork.core.view.render import bgra_lut, class_at, instance_at, render_window


@pytest.fixture(scope="module")
def nuclei_layer(nuclei_val, tmp_path_factory):
    doc = json.loads(nuclei_val.read_text())
    img = next(i for i in doc["images"] if i["width"] == 256)
    sub = {"images": [img], "categories": doc["categories"],
           "annotations": [a for a in doc["annotations"] if a["image_id"] == img["id"]]}
    path = tmp_path_factory.mktemp("render") / "one.json"
    path.write_text(json.dumps(sub))
    data = load_coco(path)
    return data.annotations[0], data.classes


def test_windows_equal_slices_of_the_full_render(nuclei_layer, aerial_dir):
    ann, classes = nuclei_layer
    labels = np.array(Image.open(sorted((aerial_dir / "masks").glob("*.png"))[0]))[:256, :256]
    layer = Layer(label_map=labels, instances=ann.corrected.instances)
    aerial = ClassList.from_list(json.loads((aerial_dir / "classes.json").read_text()))
    lut = bgra_lut(aerial)
    full = render_window(layer, (0, 0, 256, 256), lut)
    rng = np.random.default_rng(0)
    for _ in range(25):
        x0, y0 = rng.integers(0, 250, 2)
        x1, y1 = x0 + rng.integers(1, 256 - x0 + 1), y0 + rng.integers(1, 256 - y0 + 1)
        assert np.array_equal(render_window(layer, (x0, y0, x1, y1), lut), full[y0:y1, x0:x1])
    no_instances = render_window(Layer(label_map=labels), (0, 0, 256, 256), lut)
    assert np.array_equal(no_instances, lut[labels])


def test_hit_tests_pick_the_topmost_instance(nuclei_layer):
    ann, _ = nuclei_layer
    layer = ann.corrected
    stack = np.zeros((ann.height, ann.width), int)
    for inst in layer.instances:  # later instances cover earlier ones
        stack[inst.mask.to_full()] = inst.id
    for y in range(0, ann.height, 7):
        for x in range(0, ann.width, 7):
            hit = instance_at(layer, x, y)
            assert (hit.id if hit else 0) == stack[y, x]
            assert class_at(layer, x, y) == (hit.class_id if hit else None)
    assert instance_at(None, 3, 3) is None
