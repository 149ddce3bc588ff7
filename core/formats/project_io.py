"""Import annotations into a project (COCO JSON, folders of PNG masks) and export them back.

Imports are all-or-nothing: every check (images present, sizes, classes, existing corrected work,
two entries naming one image) runs before the first annotation is replaced, so a refused import
leaves the project unchanged. On disk the CLI commits the result with core.store.import_txn, so a
killed import leaves the old work or the new one; the GUI keeps it in memory until the user saves.
Existing corrected work is only replaced with `overwrite=True`; predictions are always kept.
"""
from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from maskwork.core.domain.annotation import ClassList, ImageAnnotation, Layer, Status
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken, ProgressFn, check
from maskwork.core.domain.progress import report as report_progress
from maskwork.core.domain.text import plural
from maskwork.core.formats import png
from maskwork.core.formats.coco import MAX_CLASS_ID, CocoDataset
from maskwork.core.formats.coco_export import ExportReport, coco_export
from maskwork.core.formats.export_scope import export_names
from maskwork.core.store import review
from maskwork.core.store.atomic import json_plain, write_bytes_atomic
from maskwork.core.store.images import image_size
from maskwork.core.store.interrupts import interrupt_held
from maskwork.core.store.project import Project
from maskwork.core.store.staged_folder import StagedFolder
from maskwork.core.store.writer_guard import check_output

COCO_META = "coco"  # project.settings key: info, licences, category extras, per-image ids/extras


@dataclass
class ImportReport:
    images: int = 0
    objects: int = 0
    class_remap: dict[int, int] = field(default_factory=dict)
    remapped_names: dict[int, str] = field(default_factory=dict)  # file's class id -> class name, for the summary
    warnings: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # the images whose corrected layer the import replaced

    def summary(self) -> str:
        objects = f", {plural(self.objects, 'object')}" if self.objects else " (label maps)"
        text = f"imported {plural(self.images, 'image')}{objects}"
        if self.class_remap:
            moved = [f"class '{self.remapped_names.get(old, old)}' (id {old} in the file) is id {new} here"
                     for old, new in sorted(self.class_remap.items())]
            text += "; " + _listing(moved)
        return text

    @classmethod
    def merged(cls, project: Project, incoming: ClassList) -> ImportReport:
        """A report for an import whose classes `incoming` were merged into the project (merge_classes)."""
        return cls(class_remap=merge_classes(project, incoming), remapped_names={c.id: c.name for c in incoming})


def _listing(items: list[str], n: int = 5) -> str:
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more


# ---- matching files to project images -----------------------------------------------------------
def _resolver(project: Project):
    """Find the project image for a file name: exact relative path (or path without extension), else
    a unique base name/stem. `x` and `other/x` each find their own image when the project has both."""
    names = project.image_names()
    exact = set(names)
    by_base: dict[str, list[str]] = {}
    by_rel_stem: dict[str, list[str]] = {}
    by_stem: dict[str, list[str]] = {}
    for n in names:
        p = PurePosixPath(n)
        by_base.setdefault(p.name, []).append(n)
        by_rel_stem.setdefault(str(p.with_suffix("")), []).append(n)
        by_stem.setdefault(p.stem, []).append(n)

    def resolve(file_name: str, stem_only: bool = False) -> str | None:
        file_name = file_name.replace("\\", "/")
        if not stem_only:
            if file_name in exact:
                return file_name
            hits = by_base.get(PurePosixPath(file_name).name, [])
        else:
            hits = by_rel_stem.get(file_name, []) or by_stem.get(PurePosixPath(file_name).name, [])
        return hits[0] if len(set(hits)) == 1 else None

    return resolve


def image_finder(project: Project):
    """file_name -> path of the matching project image (or None), for load_coco(find_image=...): the
    images are checked before any mask is decoded, so a tiny file naming absent images stays cheap."""
    resolve = _resolver(project)

    def find(file_name: str) -> Path | None:
        name = resolve(file_name) if isinstance(file_name, str) else None
        return None if name is None else project.image_path(name)

    return find


def _refuse_collisions(source: str, claims: dict[str, list[str]]) -> None:
    """Two entries of the source that resolve to one project image would silently overwrite each other."""
    clashes = [f"{' and '.join(repr(e) for e in entries)} -> {name}" for name, entries in claims.items()
               if len(entries) > 1]
    if clashes:
        raise InputError(f"{source}: {len(clashes)} project image(s) are named by more than one entry: "
                         f"{_listing(clashes, 3)}. Nothing was imported; give each entry the image's path "
                         "relative to the project folder, or put those images into the project.")


def _check_class_ids(project: Project, source: str) -> None:
    """Label maps hold uint16: a larger class id (kept from an older project) cannot be painted."""
    big = [c.id for c in project.classes if c.id > MAX_CLASS_ID]
    if big:
        raise InputError(f"{source}: class id(s) {big[:5]} of {project.root} are above {MAX_CLASS_ID}, which a "
                         "label map cannot hold. Nothing was imported; renumber those classes.")


def merge_classes(project: Project, incoming: ClassList) -> dict[int, int]:
    """Make the project know every incoming class; returns incoming id -> project id where they differ.

    Classes match by name; a new name keeps its id when free. (Mutates project.classes.)"""
    if not len(project.classes):
        for c in incoming:
            project.classes.add(c.name, c.color, c.id)
        return {}
    remap = {}
    for c in incoming:
        try:
            pid = project.classes.by_name(c.name).id
        except KeyError:
            pid = project.classes.add(c.name, c.color, None if c.id in project.classes else c.id).id
        if pid != c.id:
            remap[c.id] = pid
    return remap


class CorrectedWorkConflict(InputError):
    """The import would replace corrected work (nothing was imported); `names` are those images."""

    def __init__(self, message: str, names: list[str]) -> None:
        super().__init__(message)
        self.names = names


def _check_conflicts(project: Project, names: list[str], overwrite: bool) -> None:
    if overwrite:
        return
    busy = [n for n in names if not project.annotation(n).corrected.is_empty()]
    if busy:
        verb = "has" if len(busy) == 1 else "have"
        raise CorrectedWorkConflict(f"{plural(len(busy), 'image')} already {verb} corrected work in "
                                    f"{project.root}: {_listing(busy)}. Nothing was imported; pass --overwrite "
                                    "to replace that work, or import into another project.", busy)


def _check_size(project: Project, name: str, width: int, height: int, source: str) -> None:
    w, h = image_size(project.image_path(name))
    if (w, h) != (width, height):
        raise InputError(f"{source}: the mask for {name} is {width}x{height} but the image is {w}x{h} pixels. "
                         "Nothing was imported; use masks made for these images.")


def _apply(project: Project, name: str, layer: Layer) -> None:
    ann = project.annotation(name)
    ann.corrected = layer
    ann.status = Status.CORRECTED if not layer.is_empty() else ann.status
    project.mark_dirty(name)


def _to_semantic(ann: ImageAnnotation) -> Layer:
    """Instances painted into a label map (later objects on top), for semantic projects."""
    lm = np.zeros((ann.height, ann.width), np.uint16 if any(i.class_id > 255 for i in ann.corrected.instances)
                  else np.uint8)
    for inst in ann.corrected.instances:
        if not inst.mask.is_empty and not inst.iscrowd:
            lm[inst.mask.y0:inst.mask.y1, inst.mask.x0:inst.mask.x1][inst.mask.crop] = inst.class_id
    return Layer(label_map=lm)


# ---- COCO ---------------------------------------------------------------------------------------
def _new_project_task(project: Project, task: str | None, default: str) -> None:
    """A project without store and classes takes its task from the import (or the caller's choice)."""
    if task is not None:
        if project.has_store and task != project.task:
            raise InputError(f"{project.root} is a {project.task} project; it cannot become {task}. "
                             "Import into a new folder instead.")
        project.task = task
    elif not project.has_store and not len(project.classes):
        project.task = default


def import_coco(project: Project, dataset: CocoDataset, overwrite: bool = False,
                task: str | None = None) -> ImportReport:
    """Put a COCO dataset's masks into the corrected layers of the matching project images."""
    _new_project_task(project, task, "instance")
    resolve = _resolver(project)
    targets, missing, claims = {}, [], {}
    for ann in dataset.annotations:
        name = resolve(ann.file_name)
        if name is None:
            missing.append(ann.file_name)
        else:
            targets[name] = ann
            claims.setdefault(name, []).append(ann.file_name)
    if missing:
        raise InputError(f"{dataset.path}: {len(missing)} image(s) are not in the project folder {project.root}: "
                         f"{_listing(missing)}. Nothing was imported; copy the images there first.")
    _refuse_collisions(str(dataset.path), claims)
    for name, ann in targets.items():
        _check_size(project, name, ann.width, ann.height, str(dataset.path))
    _check_conflicts(project, list(targets), overwrite)
    if project.task == "semantic":
        _check_class_ids(project, str(dataset.path))
    report = ImportReport.merged(project, dataset.classes)
    meta = project.settings.setdefault(COCO_META, {"images": {}})
    meta.update({"info": dataset.info, "licenses": dataset.licenses,
                 "categories_extra": {str(k): v for k, v in dataset.categories_extra.items()}})
    for name, ann in targets.items():
        for inst in ann.corrected.instances:
            inst.class_id = report.class_remap.get(inst.class_id, inst.class_id)
        layer = _to_semantic(ann) if project.task == "semantic" else ann.corrected
        _apply(project, name, layer)
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


# ---- PNG folders --------------------------------------------------------------------------------
def _mask_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.png") if not any(part.startswith(".") for part in p.parts))


def import_png_folder(project: Project, folder: str | Path, overwrite: bool = False,
                      task: str | None = None) -> ImportReport:
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
    resolve = _resolver(project)
    loaded, missing, seen_ids, claims = {}, [], set(), {}
    for f in files:
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
    if missing:
        raise InputError(f"{folder}: {len(missing)} mask(s) match no image of the project {project.root} "
                         f"(by file name without extension): {_listing(missing)}. Nothing was imported.")
    _refuse_collisions(str(folder), claims)
    for name, (_layer, w, h) in loaded.items():
        _check_size(project, name, w, h, str(folder))
    _check_conflicts(project, list(loaded), overwrite)
    if classes is None:
        classes = png.classes_from_palette(files[0], seen_ids | {0})
    unknown = sorted(seen_ids - set(classes.ids()))
    if unknown:
        raise InputError(f"{folder}: masks use class ids {unknown[:10]} that {sidecar or 'the class list'} does "
                         "not define. Nothing was imported; add them to classes.json.")
    _new_project_task(project, task, "instance" if instance_mode else "semantic")
    report = ImportReport.merged(project, classes)
    for name, (layer, _w, _h) in loaded.items():
        if report.class_remap:
            _remap_layer(layer, report.class_remap)
        _apply(project, name, layer)
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


def _remap_layer(layer: Layer, remap: dict[int, int]) -> None:
    if layer.label_map is not None:
        lut = np.arange(max(65536 if layer.label_map.dtype == np.uint16 else 256, 1), dtype=np.int64)
        for a, b in remap.items():
            lut[a] = b
        out = lut[layer.label_map]
        layer.label_map = out.astype(np.uint16 if out.max(initial=0) > 255 else layer.label_map.dtype)
    for inst in layer.instances:
        inst.class_id = remap.get(inst.class_id, inst.class_id)


# ---- export -------------------------------------------------------------------------------------
EXPORT_FORMATS = ("coco-rle", "coco-polygon", "png", "instance-png", "yolo", "labelme")
# what each format writes (core.store.writer_guard): one file or a folder, and whether its files are images
EXPORT_TARGETS = {"coco-rle": ("file", False), "coco-polygon": ("file", False), "png": ("folder", True),
                  "instance-png": ("folder", True), "yolo": ("folder", False), "labelme": ("folder", False)}


def export_target(fmt: str | None, out: str | Path) -> tuple[str, bool]:
    """(kind, writes images) of an export; no format: COCO for a .json, else PNG masks (as the CLI guesses)."""
    if fmt is None:
        return EXPORT_TARGETS["coco-rle" if str(out).lower().endswith(".json") else "png"]
    return EXPORT_TARGETS.get(fmt, ("folder", True))


def check_export_target(project: Project, out: str | Path, fmt: str) -> None:
    """The writer guard for an export, before anything is read or written (CLI and GUI alike)."""
    kind, images = export_target(fmt, out)
    check_output(out, kind=kind, writes_images=images, suffix=".json", projects=[project.root, project.store.parent])


def strict_json_bytes(data, where: str) -> bytes:
    """JSON without NaN/Infinity (which JSON does not have and other tools refuse)."""
    try:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=json_plain).encode()
    except ValueError as exc:
        raise InputError(f"{where}: the export holds a value that is not a finite number ({exc}); nothing was "
                         "written. Fix or delete the object with that value and export again.") from exc


def _check_png_export(project: Project, names: list[str], anns: list[ImageAnnotation], fmt: str, layer: str) -> None:
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


def select_images(project: Project, patterns: list[str] | None) -> list[str]:
    """Image names matching any of the patterns (names or globs); all images when none is given."""
    names = project.image_names()
    if not patterns:
        return names
    chosen = [n for n in names if any(n == p or fnmatch.fnmatch(n, p) for p in patterns)]
    if not chosen:
        raise InputError(f"no image of {project.root} matches {', '.join(patterns)}; "
                         "give image names (relative paths) or glob patterns such as 'tile1_*'.")
    return chosen


def export_project(project: Project, out: str | Path, fmt: str, names: list[str] | None = None,
                   layer: str = "corrected", include_scores: bool = False,
                   progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                   only_corrected: bool | None = None) -> ExportReport:
    """Write annotations as COCO JSON (file) or PNG masks (folder); only_corrected: core.formats.export_scope.

    All or nothing: a Ctrl-C raises KeyboardInterrupt saying whether anything was written."""
    try:
        return _export_project(project, out, fmt, names, layer, include_scores, progress, cancel, only_corrected)
    except KeyboardInterrupt as exc:
        if str(exc):  # the writer said what it left (core.store.staged_folder)
            raise
        raise KeyboardInterrupt(f"nothing was written to {out}") from None


def _export_project(project: Project, out: str | Path, fmt: str, names: list[str] | None, layer: str,
                    include_scores: bool, progress: ProgressFn | None, cancel: CancelToken | None,
                    only_corrected: bool | None) -> ExportReport:
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}.")
    check_export_target(project, out, fmt)
    names = export_names(project, names, layer, only_corrected)
    if fmt in ("yolo", "labelme"):  # per-image label files, in their own modules (they import this one)
        from maskwork.core.formats.labelme import export_labelme
        from maskwork.core.formats.yolo_labels import export_yolo

        return (export_yolo if fmt == "yolo" else export_labelme)(project, out, names, layer, progress, cancel)
    out = Path(out)
    anns = [project.annotation(n) for n in names]
    if fmt.startswith("coco"):
        meta = project.settings.get(COCO_META, {})
        images_meta = meta.get("images", {})
        ids = {n: images_meta[n]["id"] for n in names if n in images_meta}
        extras = {n: {k: v for k, v in images_meta[n].items() if k != "id"} for n in names if n in images_meta}
        extras = review.coco_attributes(project, names, extras)  # the reviewed mark of now on every image
        cat_extra = {int(k): v for k, v in meta.get("categories_extra", {}).items()}
        data, report = coco_export(anns, project.classes, fmt.split("-")[1], layer, include_scores,
                                   info=meta.get("info"), licenses=meta.get("licenses"), image_extras=extras,
                                   image_ids=ids, categories_extra=cat_extra, progress=progress, cancel=cancel)
        data_bytes = strict_json_bytes(data, str(out))
        with interrupt_held(f"it came after the writing: {out} is complete"):
            write_bytes_atomic(out, data_bytes)
        return report
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
                lm = lay.label_map if lay.label_map is not None else _to_semantic(
                    ImageAnnotation(name, ann.width, ann.height, corrected=lay)).label_map
                png.write_label_png(target, lm, project.classes)
            else:
                lost = png.write_instance_png(target, lay.instances, ann.height, ann.width, project.classes)
                if lost:
                    report.warnings.append(f"{name}: {lost} overlapping pixels kept by the later instance only")
                report.objects += len(lay.instances)
            report.images += 1
    return report
