"""Models of the other task on real nuclei images: instance -> label map, semantic -> components."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskwork.core.metrics.live_iou import LiveIoU
from maskwork.core.models.catalog.classlists import nuclei_classes
from maskwork.core.models.cross_task import PaintedInstances, fit_result
from maskwork.core.models.prediction_layer import for_project, refilter, store_prediction
from maskwork.core.models.results import InstanceResult
from tests.gui.panels_support import make_nuclei_project


def expected_paint(result: InstanceResult, threshold: float) -> np.ndarray:
    """Per pixel, the class of the highest-scoring kept mask covering it (0 where none): no painting order."""
    keep = result.keep(threshold)
    if not len(keep):
        return np.zeros((result.height, result.width), np.uint8)
    stack = np.stack([result.masks[i].to_full() for i in keep])
    best = np.where(stack, result.scores[keep][:, None, None], -1.0).argmax(axis=0)
    covered = stack.any(axis=0)
    return np.where(covered, result.class_ids[keep][best], 0).astype(np.uint8)


def test_instance_model_on_a_semantic_project_paints_higher_scores_on_top(real_models, tmp_path, nuclei_val):
    project = make_nuclei_project(tmp_path / "sem", nuclei_val, "semantic", n=2)
    predictor = real_models("nuclei-instance")
    name = project.image_names()[0]
    ann = project.annotation(name)
    result = predictor.predict(project.image(name), score_threshold=0.05)
    fitted, added = for_project(result, project)
    assert isinstance(fitted, PaintedInstances) and added == []
    store_prediction(ann, fitted, predictor.spec.name, False, 0.5)
    lm = ann.prediction.label_map
    assert lm.shape == (ann.height, ann.width) and lm.dtype == np.uint8 and not ann.prediction.instances
    assert np.array_equal(lm, expected_paint(result, 0.5)) and lm.any()
    live = LiveIoU(ann, project.classes)  # the semantic IoU panel just works on it
    assert live.kind == "class" and live.mean_iou > 0.5
    # the score threshold re-paints without a forward pass
    assert refilter(ann, fitted, 0.9)
    assert np.array_equal(ann.prediction.label_map, expected_paint(result, 0.9))
    assert ann.prediction.label_map.sum() < lm.sum()


def test_painting_order_decides_overlaps(real_models, tmp_path, nuclei_val):
    """Real detections given two classes in turn: where masks overlap, the higher score's class shows."""
    from maskwork.core.domain.annotation import ClassList

    predictor = real_models("nuclei-instance")
    project = make_nuclei_project(tmp_path / "sem", nuclei_val, "semantic", n=1)
    result = predictor.predict(project.image(project.image_names()[0]), score_threshold=0.05)
    classes = ClassList.from_names(["background", "nucleus", "other"])
    two = InstanceResult(result.masks, result.boxes, 1 + np.arange(len(result)) % 2, result.scores, classes,
                         result.height, result.width)
    fitted, _ = fit_result(two, classes, "semantic")
    painted = fitted.to_layer(0.05).label_map
    expected = expected_paint(two, 0.05)
    stack = np.stack([m.to_full() for m in result.masks])
    overlap = (stack[::2].any(0) & stack[1::2].any(0))  # pixels claimed by both classes
    assert overlap.sum() > 50, "low-score Mask R-CNN detections overlap"
    assert np.array_equal(painted, expected)
    lowest_first = np.zeros_like(painted)  # painted the wrong way round, the answer would differ
    for i in range(len(two)):
        lowest_first[result.masks[i].to_full()] = two.class_ids[i]
    assert not np.array_equal(lowest_first, expected)


def test_semantic_model_on_an_instance_project_gives_one_object_per_component(real_models, tmp_path, nuclei_val):
    project = make_nuclei_project(tmp_path / "inst", nuclei_val, "instance", n=2)
    predictor = real_models("nuclei-semantic")
    for name in project.image_names():
        ann = project.annotation(name)
        result = predictor.predict(project.image(name))
        fitted, _ = for_project(result, project)
        assert isinstance(fitted, InstanceResult)
        n, labels = cv2.connectedComponents((result.label_map == 1).astype(np.uint8))
        assert len(fitted) == n - 1 > 5
        # component k as a bool mask -> its mean confidence
        want = {(labels == k).tobytes(): float(result.confidence[labels == k].mean()) for k in range(1, n)}
        got = {m.to_full().tobytes(): float(s) for m, s in zip(fitted.masks, fitted.scores)}
        assert got.keys() == want.keys()
        for key, score in want.items():
            assert got[key] == pytest.approx(score, rel=1e-5)
        assert list(fitted.scores) == sorted(fitted.scores, reverse=True)
        assert set(fitted.class_ids.tolist()) == {1}
        store_prediction(ann, fitted, predictor.spec.name, False, 0.5)
        assert len(ann.prediction.instances) == int((fitted.scores >= 0.5).sum()) > 0
        live = LiveIoU(ann, project.classes)
        assert live.kind == "instance" and live.ready


def test_semantic_to_instance_keeps_only_project_classes(real_models, tmp_path, nuclei_val):
    """Aerial classes on a nuclei instance project: nothing matches, so no objects at all."""
    from maskwork.core.models.catalog.classlists import aerial_classes

    project = make_nuclei_project(tmp_path / "inst", nuclei_val, "instance", n=1)
    predictor = real_models("aerial-landcover")
    result = predictor.predict(project.image(project.image_names()[0]))
    assert (result.label_map > 0).any()
    fitted, _ = for_project(result, project)
    assert len(fitted) == 0 and fitted.classes == nuclei_classes() != aerial_classes()
