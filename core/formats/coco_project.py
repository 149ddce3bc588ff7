"""COCO JSON in a project: import a dataset file into the corrected layers, export a layer as one COCO file
(RLE or polygons). The reading and checking of the file is coco.py, the JSON building coco_export.py; this is
what the project adds: matching to its images, class merge, the COCO metadata kept for a round trip."""
from __future__ import annotations

from pathlib import Path

from maskwork.core.domain.annotation import ImageAnnotation
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken, ProgressFn
from maskwork.core.formats.coco import CocoDataset, load_coco
from maskwork.core.formats.coco_export import ExportReport, coco_export
from maskwork.core.formats.steps import (
    ImportReport,
    apply_layer,
    check_class_ids,
    check_conflicts,
    check_size,
    image_finder,
    listing,
    new_project_task,
    refuse_collisions,
    resolver,
    strict_json_bytes,
    to_semantic,
)
from maskwork.core.store import review
from maskwork.core.store.atomic import write_bytes_atomic
from maskwork.core.store.interrupts import interrupt_held
from maskwork.core.store.project import Project

COCO_META = "coco"  # project.settings key: info, licences, category extras, per-image ids/extras


def import_coco_file(project: Project, path: str | Path, overwrite: bool = False, task: str | None = None,
                     progress: ProgressFn | None = None) -> ImportReport:
    """A COCO instances .json (read and checked by coco.load_coco) into the project: the format table's reader."""
    dataset = load_coco(Path(path), progress=progress, find_image=image_finder(project))
    return import_coco(project, dataset, overwrite=overwrite, task=task)


def import_coco(project: Project, dataset: CocoDataset, overwrite: bool = False,
                task: str | None = None) -> ImportReport:
    """Put a COCO dataset's masks into the corrected layers of the matching project images."""
    new_project_task(project, task, "instance")
    resolve = resolver(project)
    targets: dict[str, ImageAnnotation] = {}
    missing: list[str] = []
    claims: dict[str, list[str]] = {}
    for ann in dataset.annotations:
        name = resolve(ann.file_name)
        if name is None:
            missing.append(ann.file_name)
        else:
            targets[name] = ann
            claims.setdefault(name, []).append(ann.file_name)
    if missing:
        raise InputError(f"{dataset.path}: {len(missing)} image(s) are not in the project folder {project.root}: "
                         f"{listing(missing)}. Nothing was imported; copy the images there first.")
    refuse_collisions(str(dataset.path), claims)
    for name, ann in targets.items():
        check_size(project, name, ann.width, ann.height, str(dataset.path))
    check_conflicts(project, list(targets), overwrite)
    if project.task == "semantic":
        check_class_ids(project, str(dataset.path))
    report = ImportReport.merged(project, dataset.classes)
    meta = project.settings.setdefault(COCO_META, {"images": {}})
    meta.update({"info": dataset.info, "licenses": dataset.licenses,
                 "categories_extra": {str(k): v for k, v in dataset.categories_extra.items()}})
    for name, ann in targets.items():
        for inst in ann.corrected.instances:
            inst.class_id = report.class_remap.get(inst.class_id, inst.class_id)
        layer = to_semantic(ann) if project.task == "semantic" else ann.corrected
        apply_layer(project, name, layer)
        report.names.append(name)
        meta["images"][name] = {"id": dataset.image_ids[ann.file_name], **dataset.image_extras[ann.file_name]}
        reviewed = review.reviewed_in_coco(dataset.image_extras[ann.file_name])
        if reviewed is not None:  # the mark our own export wrote (core/store/review.py)
            review.set_reviewed(project, [name], reviewed)
        report.images += 1
        report.objects += len(ann.corrected.instances)
    if project.task == "semantic":
        report.warnings.append("the project is semantic: instances were painted into label maps")
    return report


def export_coco(project: Project, out: Path, names: list[str], layer: str, include_scores: bool, encoding: str,
                progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> ExportReport:
    """One COCO JSON file (`encoding` "rle" or "polygon"), written atomically, with the metadata an import kept."""
    anns = [project.annotation(n) for n in names]
    meta = project.settings.get(COCO_META, {})
    images_meta = meta.get("images", {})
    ids = {n: images_meta[n]["id"] for n in names if n in images_meta}
    extras = {n: {k: v for k, v in images_meta[n].items() if k != "id"} for n in names if n in images_meta}
    extras = review.coco_attributes(project, names, extras)  # the reviewed mark of now on every image
    cat_extra = {int(k): v for k, v in meta.get("categories_extra", {}).items()}
    data, report = coco_export(anns, project.classes, encoding, layer, include_scores,
                               info=meta.get("info"), licenses=meta.get("licenses"), image_extras=extras,
                               image_ids=ids, categories_extra=cat_extra, progress=progress, cancel=cancel)
    data_bytes = strict_json_bytes(data, str(out))
    with interrupt_held(f"it came after the writing: {out} is complete"):
        write_bytes_atomic(out, data_bytes)
    return report


def export_coco_rle(project: Project, out: Path, names: list[str], layer: str, include_scores: bool = False,
                    progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> ExportReport:
    return export_coco(project, out, names, layer, include_scores, "rle", progress, cancel)


def export_coco_polygon(project: Project, out: Path, names: list[str], layer: str, include_scores: bool = False,
                        progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> ExportReport:
    return export_coco(project, out, names, layer, include_scores, "polygon", progress, cancel)
