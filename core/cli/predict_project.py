"""`maskwork predict --model NAME --project FOLDER [IMAGE...] [--unknown-classes ignore|add]`.

Runs a model on a project's images and stores each result as the image's prediction layer, in the
project's class ids (matched by name) and task (core.models.cross_task); corrected layers are never
touched. Model classes the project lacks are ignored with a one-line warning, or added to it.
"""
from __future__ import annotations

import sys

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken, TextProgress
from maskwork.core.store.image_fit import ImageSizeChanged


def project_names(project, inputs: list[str]) -> list[str]:
    """The project's images named on the command line (all of them when none is named)."""
    names = project.image_names()
    if not inputs:
        return names
    known = set(names)
    by_file = {n.rsplit("/", 1)[-1]: n for n in names}
    picked = []
    for item in inputs:
        name = item if item in known else by_file.get(item.replace("\\", "/").rsplit("/", 1)[-1])
        if name is None:
            raise InputError(f"{item} is not an image of the project {project.root}; name its images "
                             "(as the image list shows them), or give none to predict them all.")
        picked.append(name)
    return picked


def fit_project_classes(project, predictor, unknown_classes: str) -> None:
    """Model classes the project lacks: added to it ("add") or ignored, with a warning; and a note when
    the model's task is not the project's (also used by core.cluster.predict_job)."""
    from maskwork.core.models.class_map import ClassMap, unknown_warning

    cmap = ClassMap(predictor.classes, project.classes)
    unmatched = cmap.unmatched_names()
    if unknown_classes == "add":
        cmap.add_unmatched()
    warning = unknown_warning(predictor.spec.name, unmatched, unknown_classes)
    if warning:
        print(warning, file=sys.stderr)
    if predictor.task != project.task:
        how = "painted into label maps" if predictor.task == "instance" else "one object per connected region"
        article = {"instance": "an", "semantic": "a"}
        print(f"note: {predictor.spec.name} is {article[predictor.task]} {predictor.task} model and "
              f"{project.root.name} {article[project.task]} {project.task} project: its output is {how}.",
              file=sys.stderr)


def predict_into_project(args, refine=None) -> int:
    """`refine` (core/cli/predict_refine.py): (image path, prediction layer) -> the layer stored."""
    from maskwork.core.models.batch import predict_batch
    from maskwork.core.models.int8.dispatch import load
    from maskwork.core.models.prediction_layer import for_project, store_prediction
    from maskwork.core.store.project import Project

    if args.out:
        raise InputError("give either --project (predictions stored in the project) or --out (files), not both.")
    project = Project.open(args.project, writer="main.py predict")
    try:
        if not project.has_store:
            raise InputError(f"{project.root} is not a Maskwork project yet (no .maskwork folder); open it in the "
                             "app or `import` labels into it first, or use --out to write prediction files.")
        names = project_names(project, args.inputs)
        predictor = load(args.model, args.int8, [project.image_path(n) for n in names], args.device,
                         TextProgress("weights"))  # int8 calibrated on the project's images
        fit_project_classes(project, predictor, args.unknown_classes)
        by_path = {str(project.image_path(n)): n for n in names}
        errors: list = []
        done = 0
        for path, result in predict_batch(predictor, list(by_path), TextProgress(args.model), CancelToken(),
                                          args.score_threshold, args.mask_threshold, errors=errors):
            name = by_path[str(path)]
            fitted, _ = for_project(result, project, "ignore")  # "add" already extended the class list
            try:
                store_prediction(project.annotation(name), fitted, predictor.spec.name, bool(predictor.int8),
                                 args.score_threshold, project.store.parent)
            except ImageSizeChanged as exc:  # the others are stored; this one says what to do
                errors.append((path, str(exc)))
                continue
            if refine is not None:
                ann = project.annotation(name)
                ann.prediction = refine(str(path), ann.prediction)
            project.mark_dirty(name)
            done += 1
        project.save()
    finally:
        project.close()
    for path, message in errors:
        print(f"skipped {path}: {message}", file=sys.stderr)
    print(f"stored predictions of {done} images in {project.root} ({project.task} project, "
          f"{len(project.classes)} classes)")
    return 1 if errors else 0
