"""Which images use a class in their corrected layer. Undoing "add class" must not leave labels of a
class the list no longer has (a save refuses them, core/store/store_checks.py), so the window asks first.

Only images that can hold the class are read: those with unsaved changes, and saved files written
since the class was added (an older file cannot name it).
"""
from __future__ import annotations

import numpy as np

from maskwork.core.domain.annotation import ImageAnnotation


def uses_class(ann: ImageAnnotation, class_id: int) -> bool:
    layer = ann.corrected
    if any(int(i.class_id) == class_id for i in layer.instances):
        return True
    return layer.label_map is not None and bool(np.any(layer.label_map == class_id))


def images_using_class(project, class_id: int, since_ns: int = 0) -> list[str]:
    """Names of the images whose corrected layer uses `class_id` (unsaved ones, and saved files
    modified at or after `since_ns`)."""
    candidates = list(project.dirty)
    for name in project.image_names():
        path = project.annotation_path(name)
        try:
            if path.stat().st_mtime_ns >= since_ns:
                candidates.append(name)
        except OSError:
            continue  # no saved file
    return [n for n in dict.fromkeys(candidates) if uses_class(project.annotation(n), class_id)]
