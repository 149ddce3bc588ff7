"""Is an image (or the class list) in memory what its saved file holds? The window asks when undo
steps back to the point of the last save (QUndoStack's clean index): only if the content really is
the saved one does the image stop counting as unsaved. A model run or an import since the save also
changed the annotation without an undo step, and then the answer is no.
"""
from __future__ import annotations

import numpy as np

from maskwork.core.domain.annotation import UNLABELED, ImageAnnotation, Layer, Status
from maskwork.core.store.annotation_json import annotation_from_dict, encode_layer
from maskwork.core.store.names import PROJECT_FILE
from maskwork.core.store.project import Project
from maskwork.core.store.schemas import AnnotationFile, ProjectFile, load_json


def _same_map(a, b) -> bool:
    """None and an all-unlabeled map mean the same (the map is made on the first stroke)."""
    if a is None or b is None:
        other = b if a is None else a
        return other is None or not np.any(other != UNLABELED)
    return a.shape == b.shape and np.array_equal(a, b)


def _same_layer(a: Layer | None, b: Layer | None) -> bool:
    if a is None or b is None:
        return a is b
    return _same_map(a.label_map, b.label_map) and encode_layer(Layer(None, a.instances)) == encode_layer(
        Layer(None, b.instances))


def saved_annotation(project: Project, name: str, ann: ImageAnnotation) -> ImageAnnotation:
    """What the saved file of `name` holds (no file: the empty annotation an image starts with)."""
    path = project.annotation_path(name)
    if not path.exists():
        return ImageAnnotation(file_name=name, width=ann.width, height=ann.height)
    return annotation_from_dict(load_json(path, AnnotationFile), str(path))


def matches_saved(project: Project, name: str, ann: ImageAnnotation | None = None) -> bool:
    """`ann` (default: the live annotation; a private copy when called off the GUI thread, see
    core.store.autosave.private_copy) equals the saved file of `name`. Reading a 48 MP file takes ~0.5 s."""
    ann = project.annotation(name) if ann is None else ann
    saved = saved_annotation(project, name, ann)
    return (Status(ann.status) == Status(saved.status) and _same_layer(ann.corrected, saved.corrected)
            and _same_layer(ann.prediction, saved.prediction) and ann.prediction_info == saved.prediction_info)


def classes_match_saved(project: Project) -> bool:
    """The class list equals the one in the saved project.json (False when there is none yet)."""
    path = project.store / PROJECT_FILE
    if not project.has_store or not path.exists():
        return False
    return load_json(path, ProjectFile).get("classes") == project.classes.to_list()
