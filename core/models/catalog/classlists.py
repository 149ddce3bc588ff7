"""Class lists of the registry's models: COCO (91 torchvision indices), Pascal VOC (21), nuclei, aerial.

Colours follow the Pascal VOC colour map (id -> bit-interleaved RGB) so label PNGs written by
Maskwork look the same as the ones VOC-trained tools produce; our own datasets keep their colours.
"""
from __future__ import annotations

from functools import lru_cache

from maskwork.core.domain.annotation import ClassInfo, ClassList, rgb_to_hex
from maskwork.core.models.catalog.torchvision_meta import WEIGHTS

GAP = "N/A"  # torchvision's name for unused COCO indices; kept out of the ClassList, ids keep their gaps


def voc_color(class_id: int) -> str:
    """The Pascal VOC colour of a class id (0 black, 1 dark red, 2 dark green, ...)."""
    r = g = b = 0
    c = class_id
    for shift in range(7, -1, -1):
        r |= ((c >> 0) & 1) << shift
        g |= ((c >> 1) & 1) << shift
        b |= ((c >> 2) & 1) << shift
        c >>= 3
    return rgb_to_hex((r, g, b))


def from_torchvision_categories(categories: list[str]) -> ClassList:
    """Index = class id (torchvision labels are indices into meta["categories"]); "N/A" gaps are skipped."""
    classes = ClassList()
    for i, name in enumerate(categories):
        if name == GAP:
            continue
        classes.add("background" if name == "__background__" else name, voc_color(i), i)
    return classes


@lru_cache(maxsize=None)
def _tv_categories(weights_name: str) -> tuple[str, ...]:
    """The weights' category names: our copy (no torch at start-up), else torchvision's enum."""
    if weights_name in WEIGHTS:
        return WEIGHTS[weights_name][1]
    from torchvision.models import get_weight  # the enum's meta is static: no download

    return tuple(get_weight(weights_name).meta["categories"])


def torchvision_classes(weights_name: str) -> ClassList:
    return from_torchvision_categories(list(_tv_categories(weights_name)))


def nuclei_classes() -> ClassList:
    return ClassList([ClassInfo(0, "background", "#000000"), ClassInfo(1, "nucleus", "#FF3B30")])


# Same ids, names and colours as ../shared/datasets/aerial/classes.json (tests compare them).
AERIAL = [
    (0, "unlabeled", "#9B9B9B"), (1, "building", "#3C1098"), (2, "land", "#8429F6"),
    (3, "road", "#6EC1E4"), (4, "vegetation", "#FEDD3A"), (5, "water", "#E2A929"),
]


def aerial_classes() -> ClassList:
    return ClassList(ClassInfo(i, n, c) for i, n, c in AERIAL)


def generic_classes(num_classes: int) -> ClassList:
    """Names for a plain state dict whose user gave none: background, class 1, class 2, ..."""
    return ClassList(ClassInfo(i, "background" if i == 0 else f"class {i}", voc_color(i)) for i in range(num_classes))
