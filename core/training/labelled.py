"""Is there anything to learn? Training data whose masks are all unlabeled gives a loss over no pixels
(NaN), which used to read as "training diverged … lower the learning rate" (issue 19). Checked before the
first step: items are read until one has a labelled pixel (the first one, usually) or an object."""
from __future__ import annotations

import numpy as np

from maskwork.core.domain.errors import InputError
from maskwork.core.training.datasets import TrainData


def has_labels(data: TrainData, task: str, ignore: int | None) -> bool:
    for item in data.items:
        if task == "instance":
            if item.instances is not None and len(item.instances().class_ids):
                return True
        elif item.label_map is not None:
            if ignore is None or bool(np.any(item.label_map() != ignore)):
                return True
    return False


def require_labels(data: TrainData, task: str, ignore: int | None) -> None:
    if has_labels(data, task, ignore):
        return
    what = "no objects" if task == "instance" else f"no labelled pixels (every mask value is {ignore}, unlabeled)"
    raise InputError(f"there is nothing to learn in {data.source}: its {len(data.items)} training images have "
                     f"{what}; label some objects first, or check that the masks are the right files.")
