"""Turn a model result into an image's prediction layer (the corrected layer is never touched)."""
from __future__ import annotations

from pathlib import Path

from maskwork.core.domain.annotation import ImageAnnotation, Layer, PredictionInfo, Status
from maskwork.core.models.results import InstanceResult, SemanticResult
from maskwork.core.store.image_fit import ImageSizeChanged, changed_message


def result_shape(result: SemanticResult | InstanceResult) -> tuple[int, int]:
    if isinstance(result, InstanceResult):
        return (result.height, result.width)
    return tuple(result.label_map.shape[:2])


def result_layer(result: SemanticResult | InstanceResult, score_threshold: float) -> Layer:
    """The layer a result gives at this threshold (semantic results ignore the threshold)."""
    if isinstance(result, InstanceResult):
        return result.to_layer(score_threshold)
    return result.to_layer()


def for_project(result: SemanticResult | InstanceResult, project, unknown: str = "ignore"):
    """(the result in the project's class ids and task, classes added to the project): give that result,
    not the model's own, to store_prediction, so the prediction layer holds PROJECT class ids."""
    from maskwork.core.models.cross_task import fit_result

    return fit_result(result, project.classes, project.task, unknown)


def store_prediction(ann: ImageAnnotation, result: SemanticResult | InstanceResult, model: str,
                     int8: bool, score_threshold: float, folder: Path | None = None) -> None:
    """Replace ann.prediction by the result; a not-yet-corrected image becomes PREDICTED. `folder` (the
    project's) goes into the message when the image is no longer the size of its annotation."""
    if result_shape(result) != ann.shape:  # the image file was replaced since its annotation was read
        (h, w), image = ann.shape, result_shape(result)
        raise ImageSizeChanged(changed_message(ann.file_name, (image[1], image[0]), (w, h), folder), ann.file_name,
                               (image[1], image[0]), (w, h))
    ann.prediction = result_layer(result, score_threshold)
    ann.prediction_info = PredictionInfo(model=model, int8=int8, latency_ms=float(result.latency_ms),
                                         score_threshold=float(score_threshold))
    if ann.status != Status.CORRECTED:
        ann.status = Status.PREDICTED


def refilter(ann: ImageAnnotation, result: SemanticResult | InstanceResult, score_threshold: float) -> bool:
    """Re-threshold an instance prediction without a forward pass; False when nothing changes."""
    if not isinstance(result, InstanceResult) or ann.prediction is None:
        return False
    ann.prediction = result.to_layer(score_threshold)
    if ann.prediction_info is not None:
        ann.prediction_info.score_threshold = float(score_threshold)
    return True
