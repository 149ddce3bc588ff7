"""Checks of the plain values of a COCO annotation (bbox, score): refused in one sentence that names
the file and the item, never a traceback, and never a NaN that the export would write back."""
from __future__ import annotations

import math
from pathlib import Path

from maskwork.core.domain.annotation import Box, as_box
from maskwork.core.domain.errors import InputError


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_bbox(value, path: Path, where: str, box_only: bool) -> Box | None:
    """[x, y, width, height]: 4 finite numbers; not negative when the box is the object (written back on
    export). Boxes beside a mask are only checked for form: export recomputes them from the mask."""
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 4 and all(_number(v) for v in value)):
        raise InputError(f"{path}: {where}: 'bbox' is {value!r:.60}, not [x, y, width, height] as 4 finite "
                         "numbers. Fix the box or remove the 'bbox' key.")
    if box_only and min(value) < 0:
        raise InputError(f"{path}: {where}: 'bbox' {value} has a negative value. Boxes are [x, y, width, height] "
                         "inside the image; fix the box.")
    return as_box(value)


def check_score(value, path: Path, where: str) -> float | None:
    if value is None:
        return None
    if not _number(value):
        raise InputError(f"{path}: {where}: 'score' is {value!r:.60}, not a finite number. Fix the score or "
                         "remove the 'score' key.")
    return float(value)
