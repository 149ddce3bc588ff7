"""PNG masks in a project: import a folder of label PNGs (class id per pixel, palette) or 16-bit instance PNGs
(+ classes.json), matched to images by name; export a layer as either, all or nothing. The pixel codecs are
png.py."""
from __future__ import annotations

from pathlib import Path, PurePosixPath

import numpy as np

from maskwork.core.domain.annotation import ImageAnnotation, Layer
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken, ProgressFn, check
from maskwork.core.domain.progress import report as report_progress
from maskwork.core.formats import png
from maskwork.core.formats.coco import MAX_CLASS_ID
from maskwork.core.formats.coco_export import ExportReport
from maskwork.core.formats.steps import (
    ImportReport,
    apply_layer,
    check_conflicts,
    check_size,
    listing,
    new_project_task,
    refuse_collisions,
    remap_layer,
    resolver,
    to_semantic,
)
from maskwork.core.store.images import image_size
from maskwork.core.store.project import Project
from maskwork.core.store.staged_folder import StagedFolder


def _mask_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.png") if not any(part.startswith(".") for part in p.parts))


def import_png_folder(project: Project, folder: str | Path, overwrite: bool = False,
                      task: str | None = None, progress: ProgressFn | None = None) -> ImportReport:
    """Label PNGs (class ids, palette) or instance PNGs (+ JSON sidecar), matched to images by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder of PNG masks.")
    files = _mask_files(folder)
    if not files:
        raise InputError(f"{folder} holds no .png masks; give the folder with one PNG per image.")
    instance_mode = png.is_instance_png(files[0])
    _exclude_from_images(project, folder)
    sidecar = png.find_classes_sidecar(folder)
    classes = png.read_classes_json(sidecar) if sidecar else (project.classes.copy() if len(project.classes) else None)
    resolve = resolver(project)
    loaded: dict[str, tuple[Layer, int, int]] = {}
    missing: list[str] = []
    seen_ids: set[int] = set()
    claims: dict[str, list[str]] = {}
    for k, f in enumerate(files):
        if k:  # files read so far (a refusal of the first file prints nothing but its sentence)
            report_progress(progress, k, len(files), f.name)
        stem = f.relative_to(folder).with_suffix("").as_posix()
        name = resolve(stem, stem_only=True)
        if name is None:
            missing.append(f.name)
            continue
        claims.setdefault(name, []).append(f.relative_to(folder).as_posix())
        if len(claims[name]) > 1:
            continue
        if instance_mode:
            instances = png.read_instance_png(f)
            h, w = (instances[0].mask.shape if instances else _png_shape(f))
            seen_ids.update(i.class_id for i in instances)
            loaded[name] = (Layer(instances=instances), w, h)
        else:
            lm = png.read_label_png(f, classes)
            seen_ids.update(int(v) for v in np.unique(lm))
            loaded[name] = (Layer(label_map=lm), lm.shape[1], lm.shape[0])
    report_progress(progress, len(files), len(files), "")
    if missing:
        raise InputError(f"{folder}: {len(missing)} mask(s) match no image of the project {project.root} "
                         f"(by file name without extension): {listing(missing)}. Nothing was imported.")
    refuse_collisions(str(folder), claims)
    for name, (_layer, w, h) in loaded.items():
        check_size(project, name, w, h, str(folder))
    check_conflicts(project, list(loaded), overwrite)
    if classes is None:
        classes = png.classes_from_palette(files[0], seen_ids | {0})
    unknown = sorted(seen_ids - set(classes.ids()))
    if unknown:
        raise InputError(f"{folder}: masks use class ids {unknown[:10]} that {sidecar or 'the class list'} does "
                         "not define. Nothing was imported; add them to classes.json.")
    new_project_task(project, task, "instance" if instance_mode else "semantic")
    report = ImportReport.merged(project, classes)
    for name, (layer, _w, _h) in loaded.items():
        if report.class_remap:
            remap_layer(layer, report.class_remap)
        apply_layer(project, name, layer)
        report.names.append(name)
        report.images += 1
        report.objects += len(layer.instances)
    return report


def _exclude_from_images(project: Project, folder: Path) -> None:
    """A mask folder inside the project (images/ + masks/ layouts) must not list masks as images."""
    try:
        rel = folder.resolve().relative_to(project.root).as_posix()
    except ValueError:
        return  # outside the project
    if rel in ("", "."):
        raise InputError(f"{folder} is the project folder itself; keep the masks in their own folder.")
    excluded = project.settings.setdefault("exclude_dirs", [])
    if rel not in excluded:
        excluded.append(rel)
    project.image_names(refresh=True)


def _png_shape(path: Path) -> tuple[int, int]:
    w, h = image_size(path)
    return h, w


def _check_png_export(project: Project, names: list[str], anns: list[ImageAnnotation], fmt: str,
                      layer: str) -> None:
    """PNG masks hold 16-bit values: refuse what does not fit before the first file is written."""
    for name, ann in zip(names, anns):
        lay = ann.corrected if layer == "corrected" else ann.prediction
        if lay is None:
            continue
        if fmt == "png":
            big = sorted({i.class_id for i in lay.instances if not 0 <= i.class_id <= MAX_CLASS_ID})
            if big:
                raise InputError(f"{name}: class id(s) {big[:5]} are above {MAX_CLASS_ID}, which a PNG label map "
                                 "cannot hold; nothing was written. Renumber those classes, or export as COCO.")
        elif len(lay.instances) > MAX_CLASS_ID:
            raise InputError(f"{name}: {len(lay.instances)} objects do not fit a 16-bit instance PNG (at most "
                             f"{MAX_CLASS_ID}); nothing was written. Export this image as COCO instead.")


def export_label_pngs(project: Project, out: Path, names: list[str], layer: str, include_scores: bool = False,
                      progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> ExportReport:
    """One palette label PNG per image (class id per pixel) + classes.json."""
    return _export_pngs(project, out, names, layer, "png", progress, cancel)


def export_instance_pngs(project: Project, out: Path, names: list[str], layer: str, include_scores: bool = False,
                         progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> ExportReport:
    """One 16-bit instance-id PNG per image + classes.json."""
    return _export_pngs(project, out, names, layer, "instance-png", progress, cancel)


def _export_pngs(project: Project, out: Path, names: list[str], layer: str, fmt: str,
                 progress: ProgressFn | None, cancel: CancelToken | None) -> ExportReport:
    anns = [project.annotation(n) for n in names]
    _check_png_export(project, names, anns, fmt, layer)  # before anything (classes.json) is written
    report = ExportReport()
    with StagedFolder(out) as staged:  # all or nothing: a cancel, an error or Ctrl-C leaves `out` as it was
        png.write_classes_json(staged.path(out / png.CLASSES_SIDECAR), project.classes)
        for k, (name, ann) in enumerate(zip(names, anns)):
            check(cancel)
            report_progress(progress, k + 1, len(names), name)
            lay = ann.corrected if layer == "corrected" else ann.prediction
            if lay is None or lay.is_empty():
                continue
            target = staged.path(out / PurePosixPath(name).with_suffix(".png"))
            if fmt == "png":
                lm = lay.label_map if lay.label_map is not None else to_semantic(
                    ImageAnnotation(name, ann.width, ann.height, corrected=lay)).label_map
                assert lm is not None  # to_semantic always paints a label map
                png.write_label_png(target, lm, project.classes)
            else:
                lost = png.write_instance_png(target, lay.instances, ann.height, ann.width, project.classes)
                if lost:
                    report.warnings.append(f"{name}: {lost} overlapping pixels kept by the later instance only")
                report.objects += len(lay.instances)
            report.images += 1
    return report
