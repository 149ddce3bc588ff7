"""Which images an export writes. An image written with zero annotations reads as "no objects here",
so exporting the corrected layer writes by default only the images a person has worked on: a corrected
status (painted, accepted, imported objects), objects or labelled pixels in the corrected layer, or the
"reviewed" mark (core.store.review: a person checked it, even when it holds nothing).
"""
from __future__ import annotations

from maskwork.core.domain.annotation import ImageAnnotation, Status
from maskwork.core.domain.errors import InputError
from maskwork.core.editing.accept_ops import has_corrections
from maskwork.core.store.review import reviewed_names


def default_only_corrected(layer: str) -> bool:
    """The corrected layer: only images with corrections; the prediction layer: every image."""
    return layer == "corrected"


def is_corrected(ann: ImageAnnotation, reviewed: bool = False) -> bool:
    return reviewed or ann.status == Status.CORRECTED or has_corrections(ann.corrected)


def corrected_names(project, names: list[str]) -> list[str]:
    """The images of `names` with corrections, in the same order (reads each annotation once)."""
    marks = reviewed_names(project)
    return [n for n in names if is_corrected(project.annotation(n), n in marks)]


def export_names(project, names: list[str] | None, layer: str, only_corrected: bool | None) -> list[str]:
    """The images to write: `names` (None: all), narrowed to corrected ones when asked (None: the default)."""
    names = project.image_names() if names is None else list(names)
    if only_corrected is None:
        only_corrected = default_only_corrected(layer)
    if not only_corrected:
        return names
    kept = corrected_names(project, names)
    if names and not kept:
        raise InputError(f"none of the {len(names)} images to export has corrections, so nothing was written. "
                         "Correct or accept some images first, or export every image (untick 'Only images with "
                         "corrections' in the Export dialog; --all-images on the command line) to write them empty.")
    return kept


def any_corrected(project) -> bool:
    """Whether any image holds corrected work an import could replace (a brand-new project holds none).
    Only images with unsaved changes or a saved annotation file are read, and it stops at the first."""
    candidates = list(project.dirty) + [n for n in project.image_names() if project.has_saved_annotation(n)]
    return any(has_corrections(project.annotation(n).corrected) for n in dict.fromkeys(candidates))
