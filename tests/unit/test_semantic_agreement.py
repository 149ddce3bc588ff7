"""Float/int8 agreement of two semantic results (core.models.compare.semantic_agreement), on a real aerial label
map: a class only the other side predicts on a few pixels is not averaged in as 0, and a large region it takes still
lowers the agreement through the classes that lost those pixels."""
from __future__ import annotations

import json

import numpy as np

from maskwork.core.domain.annotation import ClassList
from maskwork.core.models.compare import semantic_agreement
from maskwork.core.models.results import SemanticResult
from maskwork.core.training.datasets import read_label_png


def _result(label_map: np.ndarray, classes: ClassList) -> SemanticResult:
    return SemanticResult(label_map, np.ones(label_map.shape, np.float32), classes)


def test_stray_pixels_of_a_class_the_reference_lacks_do_not_sink_the_mean(aerial_dir):
    classes = ClassList.from_list(json.loads((aerial_dir / "classes.json").read_text()))
    for path in sorted((aerial_dir / "masks").glob("*.png")):  # the first mask that lacks one of the classes
        truth = np.asarray(read_label_png(path), np.uint8)
        missing = [c for c in classes.ids() if c != 0 and not (truth == c).any()]
        if missing:
            break
    absent = missing[0]
    other = truth.copy()
    other[:1, :2] = absent  # two stray pixels
    per_class, mean = semantic_agreement(_result(truth, classes), _result(other, classes))
    assert absent not in per_class and mean > 0.999
    # the reverse direction: the reference now has the class on 2 pixels the other lacks: that class scores 0
    per_back, _ = semantic_agreement(_result(other, classes), _result(truth, classes))
    assert per_back[absent] == 0.0
    # a large region given to that class lowers the classes it was taken from
    other[: truth.shape[0] // 3] = absent
    _, mean_big = semantic_agreement(_result(truth, classes), _result(other, classes))
    assert mean_big < 0.9
