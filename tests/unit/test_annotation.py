"""Class list and annotation layers (aerial class file, accept-prediction keeps the prediction)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from maskwork.core.domain.annotation import ClassList, ImageAnnotation, Instance, Layer, Source, Status
from maskwork.core.domain.masks import Mask


def test_class_list_from_aerial_file(aerial_dir):
    items = json.loads((aerial_dir / "classes.json").read_text())
    classes = ClassList.from_list(items)
    assert classes.names() == ["unlabeled", "building", "land", "road", "vegetation", "water"]
    assert classes.get(4).rgb == (0xFE, 0xDD, 0x3A)
    lut = classes.palette()
    assert tuple(lut[1]) == (0x3C, 0x10, 0x98)
    assert ClassList.from_list(classes.to_list()) == classes


def test_class_list_edits_and_errors():
    classes = ClassList.from_names(["background", "nucleus"])
    new = classes.add("mitosis")
    assert new.id == 2 and new.color.startswith("#")
    classes.rename(2, "dividing")
    classes.recolor(2, "#00ff00")
    assert classes.get(2).name == "dividing" and classes.get(2).color == "#00FF00"
    with pytest.raises(ValueError, match="already exists"):
        classes.add("nucleus")
    with pytest.raises(KeyError, match="not in the class list"):
        classes.get(9)
    with pytest.raises(ValueError):
        classes.recolor(1, "not a colour")


def test_accept_prediction_copies_and_keeps_prediction():
    full = np.zeros((20, 30), bool)
    full[5:9, 4:10] = True
    pred = Layer(label_map=np.arange(600, dtype=np.uint8).reshape(20, 30) % 3,
                 instances=[Instance(1, 1, Mask.from_full(full), score=0.9, source=Source.MODEL)])
    ann = ImageAnnotation("a.png", 30, 20, prediction=pred, status=Status.PREDICTED)
    ann.accept_prediction()
    assert ann.status is Status.CORRECTED
    ann.corrected.label_map[0, 0] = 2
    ann.corrected.instances.pop()
    assert pred.label_map[0, 0] == 0 and len(pred.instances) == 1  # prediction untouched
    with pytest.raises(ValueError, match="run a model first"):
        ImageAnnotation("b.png", 3, 3).accept_prediction()


def test_ignore_id_follows_the_name_of_class_zero(aerial_dir):
    aerial = ClassList.from_list(json.loads((aerial_dir / "classes.json").read_text()))
    assert aerial.ignore_id() == 0  # "unlabeled": not scored, not learned
    assert ClassList.from_names(["background", "nucleus"]).ignore_id() is None  # a real class
