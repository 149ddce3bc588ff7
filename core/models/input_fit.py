"""Can a model's input policy take an image of this shape at all? A 1x100000 strip scaled so that its long side
fits the model becomes less than one pixel high: the resize fails deep in torch or onnxruntime and took the
whole `predict` run down with it. Checked when an image is prepared, so one such image is reported and skipped.
"""
from __future__ import annotations

from maskwork.core.domain.errors import InputError


def check_fits(policy, height: int, width: int, where: str) -> None:
    """InputError when scaling (height, width) to `policy`'s input leaves a side under one pixel."""
    if policy.mode == "tile" or height <= 0 or width <= 0:
        return  # tiles take any shape; an empty image is the reader's to refuse
    short_target = policy.min_size if policy.mode == "rcnn" else policy.resize
    scale = min(short_target / min(height, width), policy.max_size / max(height, width))
    if min(height, width) * scale < 1.0:
        side = "high" if height < width else "wide"
        raise InputError(f"{where} is {width}x{height} pixels, too thin for this model: scaled to its input (at most "
                         f"{policy.max_size} px on the long side) it would be less than one pixel {side}; crop it "
                         "into pieces or leave it out.")
