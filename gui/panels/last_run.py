"""The Model panel's "Last run" line: what made the prediction of the image on screen, from its stored
PredictionInfo (kept with the project), so it says the truth after a restart or another project."""
from __future__ import annotations

NO_IMAGE = "no image open"
NO_PREDICTION = "no prediction for this image yet"


def describe(ann) -> str:
    """'85 ms (int8, unet_nuclei)' for an image with a prediction; why not, otherwise."""
    if ann is None:
        return NO_IMAGE
    info = ann.prediction_info
    if ann.prediction is None or ann.prediction.is_empty() or info is None:
        return NO_PREDICTION
    how = f"{'int8' if info.int8 else 'float'}, {info.model or 'model unknown'}"
    return f"{info.latency_ms:.0f} ms ({how})" if info.latency_ms is not None else f"stored ({how})"
