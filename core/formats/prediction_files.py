"""The files `predict --out` writes, shared by both engines (in this process, or Ray: core.cluster):
instance models one COCO JSON (RLE masks with scores), semantic models one palette PNG per image."""
from __future__ import annotations

from pathlib import Path

from maskwork.core.domain.annotation import ImageAnnotation, PredictionInfo, Status


def coco_target(out: Path) -> Path:
    return out if out.suffix.lower() == ".json" else out / "predictions.json"


def predicted_annotation(name: str, result, info: PredictionInfo) -> ImageAnnotation:
    """One image's entry of the COCO output: its prediction layer at the run's score threshold."""
    ann = ImageAnnotation(name, result.width, result.height, status=Status.PREDICTED)
    ann.prediction = result.to_layer()
    ann.prediction_info = PredictionInfo(info.model, info.int8, result.latency_ms, info.score_threshold)
    return ann


def write_coco(target: Path, anns: list[ImageAnnotation], classes, info: PredictionInfo) -> None:
    from maskwork.core.formats.coco import save_json_atomic, to_coco

    data = to_coco(anns, classes, mode="rle", layer="prediction", include_scores=True)
    data["info"] = {**data.get("info", {}), "description": f"Maskwork predictions of {info.model}",
                    "score_threshold": info.score_threshold, "int8": info.int8}
    save_json_atomic(target, data)


def unique_stem(name: str, used: set[str]) -> str:
    """The PNG name of an image: its stem, numbered when two images share one."""
    stem = Path(name).stem
    out, n = stem, 1
    while out in used:
        n += 1
        out = f"{stem}_{n}"
    used.add(out)
    return out
