"""Moving a project's annotations in and out as files, with progress and cancel (GUI File menu).

Export writes nothing until the whole result is ready (COCO JSON) or writes each PNG atomically;
import never overwrites an image's existing corrected work unless asked.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.annotation import Status
from core.errors import InputError
from core.io.atomic import save_json_atomic
from core.io.coco import load_coco
from core.io.coco_export import coco_export
from core.io.png import find_classes_sidecar, is_instance_png, read_classes_json, read_instance_png
from core.io.png import read_label_png, write_classes_json, write_instance_png, write_label_png
from core.progress import check, report

EXPORT_FORMATS = {"coco-rle": "COCO JSON, masks as RLE (lossless)",
                  "coco-polygon": "COCO JSON, masks as polygons",
                  "png": "PNG masks (label maps or 16-bit instance maps)"}


@dataclass
class TransferReport:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "name: why"
    warnings: list[str] = field(default_factory=list)

    def summary(self, verb: str) -> str:
        lines = [f"{verb} {len(self.done)} image(s)."]
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)}:\n" + "\n".join(self.skipped[:10]))
        lines += self.warnings[:10]
        return "\n".join(lines)


def _annotations(project, names, progress, cancel, what: str):
    anns = []
    for k, name in enumerate(names):
        check(cancel)
        anns.append(project.annotation(name))
        report(progress, k + 1, len(names) + 1, f"{what} {name}")
    return anns


def export_coco(project, names: list[str], path, mode: str = "rle", layer: str = "corrected",
                progress=None, cancel=None) -> TransferReport:
    anns = _annotations(project, names, progress, cancel, "reading")
    data, rep = coco_export(anns, project.classes, mode=mode, layer=layer)
    check(cancel)
    save_json_atomic(path, data)
    report(progress, len(names) + 1, len(names) + 1, f"wrote {path}")
    return TransferReport(done=list(names), warnings=list(rep.warnings))


def export_png(project, names: list[str], folder, layer: str = "corrected",
               progress=None, cancel=None) -> TransferReport:
    folder = Path(folder)
    out = TransferReport()
    for k, name in enumerate(names):
        check(cancel)
        ann = project.annotation(name)
        lay = ann.corrected if layer == "corrected" else ann.prediction
        target = folder / Path(name).with_suffix(".png")
        if lay is None or lay.is_empty():
            out.skipped.append(f"{name}: no {layer} layer")
        elif project.task == "semantic" and lay.label_map is not None:
            write_label_png(target, lay.label_map, project.classes)
            out.done.append(name)
        else:
            lost = write_instance_png(target, lay.instances, ann.height, ann.width, project.classes)
            if lost:
                out.warnings.append(f"{name}: {lost} overlapping pixels kept by the later instance")
            out.done.append(name)
        report(progress, k + 1, len(names), name)
    write_classes_json(folder / "classes.json", project.classes)
    return out


def _merge_classes(project, classes) -> None:
    for c in classes:
        if c.id not in project.classes and c.name not in project.classes.names():
            project.classes.add(c.name, c.color, c.id)


def _take(project, name: str, ann, overwrite: bool, out: TransferReport) -> None:
    current = project.annotation(name)
    if not current.corrected.is_empty() and not overwrite:
        out.skipped.append(f"{name}: already has corrected work (import with overwrite to replace it)")
        return
    ann.prediction, ann.prediction_info = current.prediction, current.prediction_info
    project.set_annotation(name, ann)
    out.done.append(name)


def import_coco(project, json_path, overwrite: bool = False, progress=None, cancel=None) -> TransferReport:
    data = load_coco(json_path)
    names = set(project.image_names())
    out = TransferReport(warnings=list(data.warnings))
    _merge_classes(project, data.classes)
    for k, ann in enumerate(data.annotations):
        check(cancel)
        if ann.file_name not in names:
            out.skipped.append(f"{ann.file_name}: not an image of this project")
        else:
            cur = project.annotation(ann.file_name)
            if (cur.width, cur.height) != (ann.width, ann.height):
                raise InputError(f"{json_path}: image {ann.file_name} is {ann.width}x{ann.height} in the JSON but "
                                 f"{cur.width}x{cur.height} on disk; use the JSON made for these images.")
            _take(project, ann.file_name, ann, overwrite, out)
        report(progress, k + 1, len(data.annotations), ann.file_name)
    return out


def import_png_masks(project, folder, overwrite: bool = False, progress=None, cancel=None) -> TransferReport:
    """Masks named like the images (`<image stem>.png`, same subfolders) become the corrected layer."""
    folder = Path(folder)
    sidecar = find_classes_sidecar(folder)
    classes = read_classes_json(sidecar) if sidecar else None
    if classes is not None:
        _merge_classes(project, classes)
    out = TransferReport()
    names = project.image_names()
    for k, name in enumerate(names):
        check(cancel)
        mask_path = folder / Path(name).with_suffix(".png")
        if not mask_path.is_file():
            mask_path = folder / (Path(name).stem + ".png")
        if mask_path.is_file():
            ann = project.annotation(name)
            new = type(ann)(file_name=name, width=ann.width, height=ann.height)
            if is_instance_png(mask_path):
                new.corrected.instances = read_instance_png(mask_path)
            else:
                new.corrected.label_map = read_label_png(mask_path, classes or project.classes)
            shape = new.corrected.label_map.shape if new.corrected.label_map is not None else (
                new.corrected.instances[0].mask.shape if new.corrected.instances else ann.shape)
            if tuple(shape) != ann.shape:
                out.skipped.append(f"{name}: mask {mask_path.name} is {shape[1]}x{shape[0]}, image is "
                                   f"{ann.width}x{ann.height}")
            else:
                new.status = Status.CORRECTED
                _take(project, name, new, overwrite, out)
        report(progress, k + 1, len(names), name)
    if not out.done and not out.skipped:
        out.warnings.append(f"no mask in {folder} is named like an image of the project (<image name>.png)")
    return out
