"""What every format's import and export share: matching files to project images, the checks that run before
the first annotation is replaced (so a refused import leaves the project unchanged), merging class lists, and
the report. The format modules (coco_project, png_project, yolo_labels, labelme) build on these; none of them
imports another format (ADR 0020)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from maskwork.core.domain.annotation import ClassList, ImageAnnotation, Layer, Status
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.text import plural
from maskwork.core.formats.coco import MAX_CLASS_ID
from maskwork.core.store.atomic import json_plain
from maskwork.core.store.images import image_size
from maskwork.core.store.project import Project


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
            text += "; " + listing(moved)
        return text

    @classmethod
    def merged(cls, project: Project, incoming: ClassList) -> ImportReport:
        """A report for an import whose classes `incoming` were merged into the project (merge_classes)."""
        return cls(class_remap=merge_classes(project, incoming), remapped_names={c.id: c.name for c in incoming})


def listing(items: list[str], n: int = 5) -> str:
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more


# ---- matching files to project images -----------------------------------------------------------
def resolver(project: Project):
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
    resolve = resolver(project)

    def find(file_name: str) -> Path | None:
        name = resolve(file_name) if isinstance(file_name, str) else None
        return None if name is None else project.image_path(name)

    return find


def refuse_collisions(source: str, claims: dict[str, list[str]]) -> None:
    """Two entries of the source that resolve to one project image would silently overwrite each other."""
    clashes = [f"{' and '.join(repr(e) for e in entries)} -> {name}" for name, entries in claims.items()
               if len(entries) > 1]
    if clashes:
        raise InputError(f"{source}: {len(clashes)} project image(s) are named by more than one entry: "
                         f"{listing(clashes, 3)}. Nothing was imported; give each entry the image's path "
                         "relative to the project folder, or put those images into the project.")


def check_class_ids(project: Project, source: str) -> None:
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


def check_conflicts(project: Project, names: list[str], overwrite: bool) -> None:
    if overwrite:
        return
    busy = [n for n in names if not project.annotation(n).corrected.is_empty()]
    if busy:
        verb = "has" if len(busy) == 1 else "have"
        raise CorrectedWorkConflict(f"{plural(len(busy), 'image')} already {verb} corrected work in "
                                    f"{project.root}: {listing(busy)}. Nothing was imported; pass --overwrite "
                                    "to replace that work, or import into another project.", busy)


def check_size(project: Project, name: str, width: int, height: int, source: str) -> None:
    w, h = image_size(project.image_path(name))
    if (w, h) != (width, height):
        raise InputError(f"{source}: the mask for {name} is {width}x{height} but the image is {w}x{h} pixels. "
                         "Nothing was imported; use masks made for these images.")


def apply_layer(project: Project, name: str, layer: Layer) -> None:
    ann = project.annotation(name)
    ann.corrected = layer
    ann.status = Status.CORRECTED if not layer.is_empty() else ann.status
    project.mark_dirty(name)


def to_semantic(ann: ImageAnnotation) -> Layer:
    """Instances painted into a label map (later objects on top), for semantic projects."""
    lm = np.zeros((ann.height, ann.width), np.uint16 if any(i.class_id > 255 for i in ann.corrected.instances)
                  else np.uint8)
    for inst in ann.corrected.instances:
        if not inst.mask.is_empty and not inst.iscrowd:
            lm[inst.mask.y0:inst.mask.y1, inst.mask.x0:inst.mask.x1][inst.mask.crop] = inst.class_id
    return Layer(label_map=lm)


def new_project_task(project: Project, task: str | None, default: str) -> None:
    """A project without store and classes takes its task from the import (or the caller's choice)."""
    if task is not None:
        if project.has_store and task != project.task:
            raise InputError(f"{project.root} is a {project.task} project; it cannot become {task}. "
                             "Import into a new folder instead.")
        project.task = task
    elif not project.has_store and not len(project.classes):
        project.task = default


def remap_layer(layer: Layer, remap: dict[int, int]) -> None:
    if layer.label_map is not None:
        lut = np.arange(max(65536 if layer.label_map.dtype == np.uint16 else 256, 1), dtype=np.int64)
        for a, b in remap.items():
            lut[a] = b
        out = lut[layer.label_map]
        layer.label_map = out.astype(np.uint16 if out.max(initial=0) > 255 else layer.label_map.dtype)
    for inst in layer.instances:
        inst.class_id = remap.get(inst.class_id, inst.class_id)



def strict_json_bytes(data, where: str) -> bytes:
    """JSON without NaN/Infinity (which JSON does not have and other tools refuse)."""
    try:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=json_plain).encode()
    except ValueError as exc:
        raise InputError(f"{where}: the export holds a value that is not a finite number ({exc}); nothing was "
                         "written. Fix or delete the object with that value and export again.") from exc
