"""What the per-image label formats (YOLO .txt, labelme .json) share: finding the label files,
matching them to project images, and putting the checked result into the project all at once.

As for COCO and PNG imports (core.formats.coco_project, core.formats.png_project), every check runs before the
first annotation is replaced: a refused import leaves the project unchanged. Exports build every file in memory first,
so a refusal writes nothing; each file is then written atomically.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from maskwork.core.domain.annotation import ClassList, ImageAnnotation, Instance, Layer
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken, ProgressFn, check
from maskwork.core.domain.progress import report as report_progress
from maskwork.core.formats.steps import (
    ImportReport,
    apply_layer,
    check_class_ids,
    check_conflicts,
    listing,
    new_project_task,
    to_semantic,
)
from maskwork.core.store.atomic import write_bytes_atomic
from maskwork.core.store.images import image_size
from maskwork.core.store.project import Project
from maskwork.core.store.staged_folder import StagedFolder


@dataclass
class LabelFile:
    """One label file, read and checked: the project image it belongs to and its objects."""

    path: Path
    image: str
    width: int
    height: int
    instances: list[Instance] = field(default_factory=list)


def find_label_files(folder: Path, suffix: str, skip_names: tuple[str, ...] = ()) -> list[Path]:
    """Label files under folder (subfolders too), sorted; hidden folders (.maskwork) are left out."""
    return sorted(p for p in folder.rglob(f"*{suffix}") if p.is_file() and p.name not in skip_names
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def image_matcher(project: Project):
    """label file stem (relative path without extension) -> project image name, or an InputError text.

    Exact relative path first (labels/a/x.txt finds a/x.png), else a unique stem. A stem that two
    images share (a/x.png, b/x.png) is refused, never guessed, as the COCO importer does."""
    names = project.image_names()
    by_rel: dict[str, list[str]] = {}
    by_stem: dict[str, list[str]] = {}
    for n in names:
        p = PurePosixPath(n)
        by_rel.setdefault(str(p.with_suffix("")), []).append(n)
        by_stem.setdefault(p.stem, []).append(n)

    def match(rel_stem: str) -> tuple[str | None, str | None]:
        rel_stem = rel_stem.replace("\\", "/")
        parts = PurePosixPath(rel_stem).parts
        for k in range(len(parts)):  # labels/train/x, train/x, x: the longest suffix that names an image
            hits = by_rel.get("/".join(parts[k:]), [])
            if len(hits) == 1:
                return hits[0], None
        hits = by_stem.get(PurePosixPath(rel_stem).name, [])
        if len(hits) == 1:
            return hits[0], None
        if hits:
            return None, f"matches {len(hits)} images ({listing(hits, 3)})"
        return None, "matches no image"

    return match


def refuse_unmatched(source: Path, project: Project, problems: list[str]) -> None:
    if problems:
        raise InputError(f"{source}: {len(problems)} label file(s) cannot be matched to one image of the project "
                         f"{project.root}: {listing(problems, 3)}. Nothing was imported; put the images into the "
                         "project, or the label file into a subfolder named like the image's folder.")


def refuse_two_files_for_one_image(source: Path, claims: dict[str, list[str]]) -> None:
    clashes = [f"{' and '.join(files)} -> {name}" for name, files in claims.items() if len(files) > 1]
    if clashes:
        raise InputError(f"{source}: {len(clashes)} image(s) have more than one label file: {listing(clashes, 3)}. "
                         "Nothing was imported; keep one label file per image.")


def real_size(project: Project, name: str) -> tuple[int, int]:
    """(width, height) from the image header only."""
    return image_size(project.image_path(name))


def class_list(names: list[str]) -> ClassList:
    """Class names in index order -> ClassList with ids 1..n (0 stays "no class" in label maps)."""
    classes = ClassList()
    for k, name in enumerate(names):
        classes.add(name, None, k + 1)
    return classes


def finish_import(project: Project, files: list[LabelFile], classes: ClassList, source: Path,
                  overwrite: bool, task: str | None) -> ImportReport:
    """Put checked label files into the project (the last step of an import; it cannot fail midway)."""
    names = [f.image for f in files]
    check_conflicts(project, names, overwrite)
    new_project_task(project, task, "instance")
    if project.task == "semantic":
        check_class_ids(project, str(source))
    report = ImportReport.merged(project, classes)
    for f in files:
        for k, inst in enumerate(f.instances):
            inst.id = k + 1
            inst.class_id = report.class_remap.get(inst.class_id, inst.class_id)
        layer = Layer(instances=f.instances)
        if project.task == "semantic":  # painted in file order: later objects on top
            layer = to_semantic(ImageAnnotation(f.image, f.width, f.height, corrected=layer))
        apply_layer(project, f.image, layer)
        report.names.append(f.image)
        report.images += 1
        report.objects += len(f.instances)
    if project.task == "semantic":
        report.warnings.append("the project is semantic: the objects were painted into label maps in file order")
    return report


def export_classes(project: Project) -> list:
    """The classes an export numbers 0..n-1: every class but 0 (no class / background in label maps)."""
    return [c for c in project.classes if c.id != 0]


def layer_of(ann: ImageAnnotation, layer: str) -> Layer | None:
    if layer not in ("corrected", "prediction"):
        raise ValueError(f"layer must be corrected or prediction, not {layer!r}")
    return ann.corrected if layer == "corrected" else ann.prediction


def build_and_write(project: Project, names: list[str], build, progress: ProgressFn | None,
                    cancel: CancelToken | None, extra: dict[Path, bytes] | None = None) -> dict[Path, bytes]:
    """build(name, annotation) -> {path: bytes} for each image; everything is built (and so checked)
    before the first file is written."""
    files: dict[Path, bytes] = dict(extra or {})
    for k, name in enumerate(names):
        check(cancel)
        report_progress(progress, k + 1, len(names), name)
        files.update(build(name, project.annotation(name)))
    if not files:
        return files
    base = Path(os.path.commonpath([p.parent for p in files]))
    with StagedFolder(base) as staged:  # no cancel from here; Ctrl-C too writes nothing or everything
        for path, data in files.items():
            write_bytes_atomic(staged.path(path), data)
    return files
