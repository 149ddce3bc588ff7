"""Comparing two different models matches their classes by name, not by number (issue 10)."""
from __future__ import annotations

import numpy as np
import pytest

from maskwork.core.domain.annotation import ClassInfo, ClassList
from maskwork.core.domain.errors import InputError
from maskwork.core.models.compare import compare
from maskwork.core.models.results import SemanticResult
from maskwork.core.store.images import read_image


class Renumbered:
    """The same network exported by someone who numbered its classes differently (nucleus = 7)."""

    def __init__(self, predictor):
        self.inner, self.task, self.size_bytes = predictor, predictor.task, 1
        self.classes = ClassList([ClassInfo(0, "background", "#000000"), ClassInfo(7, "Nucleus", "#00FF00")])

    def predict(self, image, **kw):
        r = self.inner.predict(image, **kw)
        lm = np.where(r.label_map == 1, 7, 0).astype(np.uint8)
        return SemanticResult(lm, r.confidence, self.classes, r.latency_ms)


def test_two_models_numbering_classes_differently_agree_by_name(real_models, datasets):
    model = real_models("nuclei-semantic")
    image = read_image(next((datasets / "nuclei" / "images").glob("*.png")))
    c = compare((model, Renumbered(model)), image, warmup=False)
    assert c.int8_run.result.label_map.max() == 7  # B's own result keeps its ids for display
    assert (c.float_run.result.label_map == 1).sum() > 100
    assert c.per_class[1] == pytest.approx(1.0)  # by number it would be 0: id 1 is absent from B
    assert c.mean_agreement == pytest.approx(1.0)


def test_models_without_a_common_class_are_refused_in_one_sentence(real_models, datasets):
    image = read_image(sorted((datasets / "aerial").rglob("*.jpg"))[0])
    with pytest.raises(InputError, match="share no class name.*nucleus.*building"):
        compare((real_models("nuclei-semantic"), real_models("aerial-landcover")), image, warmup=False)
