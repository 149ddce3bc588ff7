"""Real objects the interactive-tool tests segment (fixtures, through tests/unit/conftest.py): coco_sample val
people and nuclei val nuclei."""
from __future__ import annotations

import pytest

from maskwork.core.formats.coco import load_coco
from maskwork.core.store.images import read_image


@pytest.fixture(scope="module")
def coco_people(coco_sample_val):
    """(image, mask) of the coco_sample val people above 5000 px, largest first (at most 6)."""
    ds = load_coco(coco_sample_val)
    person = next(c.id for c in ds.classes if c.name == "person")
    found = []
    for ann in ds.annotations:
        for inst in ann.corrected.instances:
            if inst.class_id == person and not inst.iscrowd and inst.mask.area > 5000:
                found.append((coco_sample_val.parent / "val2017" / ann.file_name, inst.mask))
    found.sort(key=lambda f: -f[1].area)
    return [(read_image(path), mask) for path, mask in found[:6]]


@pytest.fixture(scope="module")
def nuclei_objects(nuclei_val):
    """(image, mask) of 12 nuclei above 150 px from the first fluorescence images of nuclei val."""
    ds = load_coco(nuclei_val)
    out = []
    for ann in ds.annotations:
        image = read_image(nuclei_val.parent / "images" / ann.file_name)
        for inst in ann.corrected.instances[::7]:
            if inst.mask.area > 150 and len(out) < 12:
                out.append((image, inst.mask))
        if len(out) >= 12:
            return out
    return out
