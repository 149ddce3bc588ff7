"""Checks the store makes before writing an annotation: nothing it writes may be unreadable later.

A corrected layer that names a class missing from the class list would export a COCO
`category_id` with no category (which Maskwork's own import refuses) and train on an unknown id.
Prediction layers are not checked: they carry the class ids of the model that made them
(prediction_info names it), which need not be the project's.
"""
from __future__ import annotations

from maskwork.core.domain.annotation import ClassList, ImageAnnotation
from maskwork.core.domain.errors import ProjectError
from maskwork.core.domain.pixel_counts import label_counts


class UndefinedClassError(ProjectError):
    """An annotation to be written names a class the class list lacks (nothing was written)."""


def undefined_classes(ann: ImageAnnotation, classes: ClassList) -> list[int]:
    """Class ids used by the corrected layer (instances and label map) that the class list lacks."""
    known = set(classes.ids())
    used = {int(inst.class_id) for inst in ann.corrected.instances}
    lm = ann.corrected.label_map
    if lm is not None and lm.size:
        used |= {v for v in label_counts(lm) if v != 0}  # 0 = unlabeled, always allowed (a fast histogram)
    return sorted(used - known)


def check_classes(name: str, ann: ImageAnnotation, classes: ClassList) -> None:
    missing = undefined_classes(ann, classes)
    if missing:
        ids = ", ".join(str(i) for i in missing[:10])
        raise UndefinedClassError(f"{name} was not saved (nor anything else): its corrected layer uses class id {ids}, "
                           f"which the class list ({', '.join(classes.names()) or 'empty'}) does not define; add "
                           "the class in the Classes panel or undo the edit, then save again.")
