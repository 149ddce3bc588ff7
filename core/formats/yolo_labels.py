"""YOLO segmentation labels (Ultralytics format): import into a project and export from it.

One `.txt` per image (same stem), one object per line: `class_index x1 y1 x2 y2 ...`, coordinates
normalised to 0..1 by the image's width and height (docs.ultralytics.com/datasets/segment). A line
of exactly 4 numbers is a YOLO detection box `cx cy w h` and becomes a box-only object. Class names
come from `data.yaml` (`names:` as a list or an index -> name mapping) or `classes.txt` (one name
per line), found in the label folder or one of its two parents (Ultralytics keeps data.yaml beside
images/ and labels/). PyYAML is not installed: the common forms of `names:` are read by a small
parser below; anything else is refused with a pointer to classes.txt.

Coordinates are in the continuous image frame (0 = left edge of the first pixel), as Ultralytics'
COCO converter writes them (COCO polygon / width), so polygons are rasterised by pycocotools as COCO
polygons are, and the export writes the outlines core.formats.coco_export.traced_rings traces (which
pycocotools reproduces exactly). An object in several parts is written as one line whose parts are joined by
zero-width bridges walked both ways (as Ultralytics' converter merges segments); the rasteriser does
not fill them. Holes are kept the same way (core.formats.holed_outlines: each hole spliced into its part's
outline by a bridge walked there and back), so every object comes back pixel for pixel, through
pycocotools here and through Ultralytics' loader up to its integer vertices; the report counts them.
Crowd regions are skipped (Ultralytics' converter skips them too).

Box-only objects (a box, no mask yet: core/editing/box_ops.py) are left out, and the export's warnings
(shown by the CLI on stderr and by the GUI in its "Done, with warnings" dialog) count them and name
their images. A segmentation label line is a polygon, and a detection line (4 numbers) cannot share a
file with polygon lines (Ultralytics then reads every line as a polygon). Writing the box as a
4-point polygon was rejected: it would teach a segmentation model that the object fills its whole
box, and an import would bring it back as a rectangular mask instead of a box (the user's data
silently changed). The warning says what to do: give those objects masks, or export COCO or labelme,
which keep boxes.
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path, PurePosixPath

import numpy as np

from maskwork.core.domain.annotation import MAX_CLASSES, MAX_OBJECTS_PER_IMAGE, Instance, Source
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.domain.progress import CancelToken, ProgressFn
from maskwork.core.domain.progress import report as report_progress
from maskwork.core.domain.text import plural
from maskwork.core.formats.coco import decode_segmentation
from maskwork.core.formats.coco_export import ExportReport, export_objects, polygon_iou
from maskwork.core.formats.holed_outlines import outlines_with_holes
from maskwork.core.formats.label_files import (
    LabelFile,
    build_and_write,
    class_list,
    export_classes,
    find_label_files,
    finish_import,
    image_matcher,
    layer_of,
    real_size,
    refuse_two_files_for_one_image,
    refuse_unmatched,
)
from maskwork.core.formats.steps import ImportReport, listing
from maskwork.core.store import bounded
from maskwork.core.store.project import Project

NAME_FILES = ("data.yaml", "dataset.yaml", "classes.txt")  # looked for in this order
INDEX_DIGITS = 6  # a class index longer than this is damage (label maps hold at most 65,536 classes)
DIGITS = 6  # 1e-6 of the image side: < 0.002 px on a 1388-px image, far below a pixel decision


# ---- class names ---------------------------------------------------------------------------------
def find_names_file(folder: Path) -> Path | None:
    for where in (folder, folder.parent, folder.parent.parent):
        for name in NAME_FILES:
            if (where / name).is_file():
                return where / name
    return None


def _scalar(text: str, path: Path, line: int) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            return json.loads(text)
        except ValueError:
            pass
    if not text or text[0] in "[]{}&*!|>'\"%@`":
        raise _yaml_error(path, line, f"cannot read the value {text!r}")
    return text


def _uncomment(line: str) -> str:
    """The line without a trailing ` # comment` (a # inside quotes stays)."""
    quote = None
    for k, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (k == 0 or line[k - 1].isspace()):
            return line[:k].rstrip()
    return line.rstrip()


def _split_flow(body: str) -> list[str]:
    items, quote, cur = [], None, ""
    for ch in body:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            items.append(cur)
            cur = ""
            continue
        cur += ch
    items.append(cur)
    return [i for i in items if i.strip()]


def _yaml_error(path: Path, line: int, what: str) -> InputError:
    return InputError(f"{path}: line {line}: {what}; Maskwork reads `names:` written as [a, b], as '- name' lines or "
                      "as '0: name' lines. Write it so, or put the names into classes.txt, one per line.")


def _keyed(pairs: list[tuple[str, str, int]], path: Path) -> dict[int, str]:
    out = {}
    for key, value, line in pairs:
        if not re.fullmatch(r"\d{1,%d}" % INDEX_DIGITS, key.strip()):
            raise _yaml_error(path, line, f"the key {key.strip()!r} is not a class index")
        if int(key) in out:
            raise _yaml_error(path, line, f"class index {int(key)} is named twice")
        out[int(key)] = _scalar(value, path, line)
    return out


def read_yaml_names(path: Path) -> dict[int, str]:
    """index -> name from the `names:` key of an Ultralytics data.yaml (the simple forms only)."""
    lines = [_uncomment(raw) for raw in _text(path).splitlines()]
    start = next((k for k, ln in enumerate(lines) if re.match(r"names\s*:", ln)), None)
    if start is None:
        raise InputError(f"{path} has no `names:` key; list the class names there (or in classes.txt).")
    rest = lines[start].split(":", 1)[1].strip()
    if rest and rest[0] in "[{":  # flow style, possibly over several lines
        close, k, body = "]" if rest[0] == "[" else "}", start, rest
        while close not in body and k + 1 < len(lines):
            k += 1
            body += " " + lines[k].strip()
        if not body.endswith(close):
            raise _yaml_error(path, start + 1, f"the `names:` {rest[0]} is not closed by {close} at a line end")
        items = _split_flow(body[1:-1])
        if close == "]":
            names = {k: _scalar(v, path, start + 1) for k, v in enumerate(items)}
        else:
            names = _keyed([(key, value, start + 1) for key, _, value in (i.partition(":") for i in items)], path)
    elif rest:
        raise _yaml_error(path, start + 1, f"`names: {rest}` is not a list")
    else:
        listed: list[str] = []
        pairs: list[tuple[str, str, int]] = []
        for k in range(start + 1, len(lines)):
            ln = lines[k]
            if not ln.strip():
                continue
            if not ln[0].isspace() and not ln.startswith("-"):
                break  # the next top-level key
            item = ln.strip()
            if item.startswith("- ") or item == "-":
                listed.append(_scalar(item[1:], path, k + 1))
            elif ":" in item:
                key, _, value = item.partition(":")
                pairs.append((key, value, k + 1))
            else:
                raise _yaml_error(path, k + 1, f"cannot read {item!r}")
        if listed and pairs:
            raise _yaml_error(path, start + 1, "`names:` mixes '- name' and '0: name' lines")
        names = dict(enumerate(listed)) if listed else _keyed(pairs, path)
    nc = next((ln.split(":", 1)[1].strip() for ln in lines if re.match(r"nc\s*:", ln)), None)
    if nc is not None and nc != str(len(names)):
        raise InputError(f"{path}: `nc: {nc}` but `names:` lists {len(names)} classes; make them agree.")
    return names


def _text(path: Path) -> str:
    try:
        return bounded.read_text(path, limit=bounded.LABEL_TEXT, what="label file", encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} as UTF-8 text ({exc}); check the file.") from exc


def read_names(path: Path) -> dict[int, str]:
    if path.suffix == ".txt":
        lines = _text(path).rstrip().splitlines()
        blank = next((k + 1 for k, ln in enumerate(lines) if not ln.strip()), None)
        if blank is not None:
            raise InputError(f"{path}: line {blank} is empty, which would shift every later class index; "
                             "remove it (one class name per line).")
        names = {k: ln.strip() for k, ln in enumerate(lines)}
    else:
        names = read_yaml_names(path)
    if not names:
        raise InputError(f"{path} names no class; list the class names, in index order.")
    if len(names) > MAX_CLASSES:
        raise InputError(f"{path} names {len(names):,} classes, more than the {MAX_CLASSES:,} Maskwork accepts; "
                         "check that it is the right file.")
    twice = sorted(n for n, k in Counter(names.values()).items() if k > 1)
    if twice:
        raise InputError(f"{path}: the class name(s) {twice[:5]} are given to two indices; names must be unique.")
    return names


# ---- import --------------------------------------------------------------------------------------
def _numbers(tokens: list[str], path: Path, line: int) -> list[float]:
    out = []
    for t in tokens:
        try:
            v = float(t)
        except ValueError:
            raise InputError(f"{path}: line {line}: {t!r} is not a number; each line is `class x1 y1 x2 y2 ...`. "
                             "Fix that line.") from None
        if not math.isfinite(v) or not 0.0 <= v <= 1.0:
            raise InputError(f"{path}: line {line}: the coordinate {t} is outside 0..1; YOLO coordinates are "
                             "normalised by the image width and height. Fix or re-export the file.")
        out.append(v)
    return out


def read_label_file(path: Path, index_to_id: dict[int, int], width: int, height: int,
                    names_file: Path) -> list[Instance]:
    """The objects of one YOLO .txt for an image of width x height, every line checked."""
    instances: list[Instance] = []
    lines = _text(path).splitlines()
    objects = sum(1 for raw in lines if raw.strip()) if len(lines) > MAX_OBJECTS_PER_IMAGE else 0
    if objects > MAX_OBJECTS_PER_IMAGE:
        raise InputError(f"{path} has {objects:,} object lines, more than the {MAX_OBJECTS_PER_IMAGE:,} objects "
                         "Maskwork accepts for one image; check that it is the right file (one object per line).")
    for line, raw in enumerate(lines, start=1):
        tokens = raw.split()
        if not tokens:
            continue
        if not re.fullmatch(r"\d+", tokens[0]):
            raise InputError(f"{path}: line {line}: the class index {tokens[0]!r} is not a whole number >= 0; "
                             "each line is `class x1 y1 x2 y2 ...`. Fix that line.")
        if len(tokens[0]) > INDEX_DIGITS:  # int() of thousands of digits raises (and costs); no class is that far
            raise InputError(f"{path}: line {line}: the class index is a {len(tokens[0]):,}-digit number, not one of "
                             f"the classes named in {names_file}; fix that line.")
        index = int(tokens[0])
        if index not in index_to_id:
            raise InputError(f"{path}: line {line}: class index {index} is not named in {names_file} (it names "
                             f"{len(index_to_id)} classes); add the name or fix the index.")
        values = _numbers(tokens[1:], path, line)
        if len(values) == 4:  # detection box: centre x, centre y, width, height
            cx, cy, bw, bh = values
            box = ((cx - bw / 2) * width, (cy - bh / 2) * height, bw * width, bh * height)
            instances.append(Instance(0, index_to_id[index], Mask.empty(height, width), box=box))
            continue
        if len(values) < 6 or len(values) % 2:
            raise InputError(f"{path}: line {line}: {len(values)} coordinates; a polygon needs at least 3 x y "
                             "pairs (a box 4 numbers). Fix that line.")
        pixels = [v * (width if k % 2 == 0 else height) for k, v in enumerate(values)]
        mask = decode_segmentation([pixels], height, width, path, f"line {line}")
        instances.append(Instance(0, index_to_id[index], mask, source=Source.PERSON))
    return instances


def import_yolo(project: Project, folder: str | Path, overwrite: bool = False,
                task: str | None = None, progress: ProgressFn | None = None) -> ImportReport:
    """A folder of YOLO .txt labels (subfolders too) into the corrected layers; all or nothing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder of YOLO .txt label files.")
    files = find_label_files(folder, ".txt", skip_names=("classes.txt",))
    if not files:
        raise InputError(f"{folder} holds no .txt label files; give the folder with one .txt per image.")
    names_file = find_names_file(folder)
    if names_file is None:
        raise InputError(f"{folder}: no data.yaml or classes.txt in it or its two parent folders, so the class "
                         "indices have no names. Nothing was imported; add classes.txt (one name per line, in "
                         "index order).")
    names = read_names(names_file)
    order = sorted(names)
    index_to_id = {index: k + 1 for k, index in enumerate(order)}
    match = image_matcher(project)
    targets: list[tuple[Path, str]] = []
    problems: list[str] = []
    claims: dict[str, list[str]] = {}
    for f in files:
        rel = f.relative_to(folder).with_suffix("").as_posix()
        name, why = match(rel)
        if name is None:
            problems.append(f"{f.relative_to(folder).as_posix()} {why}")
            continue
        claims.setdefault(name, []).append(f.relative_to(folder).as_posix())
        targets.append((f, name))
    refuse_unmatched(folder, project, problems)
    refuse_two_files_for_one_image(folder, claims)
    loaded = []
    for k, (f, name) in enumerate(targets):
        if k:  # files read so far (a refusal of the first file prints nothing but its sentence)
            report_progress(progress, k, len(targets), f.name)
        width, height = real_size(project, name)
        loaded.append(LabelFile(f, name, width, height,
                                read_label_file(f, index_to_id, width, height, names_file)))
    report_progress(progress, len(targets), len(targets), "")
    report = finish_import(project, loaded, class_list([names[i] for i in order]), folder, overwrite, task)
    report.warnings.insert(0, f"class names from {names_file}")
    return report


# ---- export --------------------------------------------------------------------------------------
def one_ring(parts: list[list[float]]) -> list[float]:
    """Parts of one object as one polygon: each part is entered and left at the same vertex, and the
    bridges between parts are walked there and back, so they enclose nothing."""
    rings = [np.asarray(p, np.float64).reshape(-1, 2) for p in parts]
    out, anchors = [rings[0], rings[0][:1]], [rings[0][0]]
    for ring in rings[1:]:
        k = int(np.argmin(((ring - anchors[-1]) ** 2).sum(axis=1)))  # the vertex nearest the last anchor
        ring = np.roll(ring, -k, axis=0)
        out += [ring, ring[:1]]
        anchors.append(ring[0])
    out += [np.asarray(anchors[-2:0:-1]).reshape(-1, 2)]  # back along the bridges (the closing edge ends it)
    return [float(v) for v in np.concatenate(out).ravel()]


def _line(index: int, poly: list[float], width: int, height: int) -> str:
    coords = (min(max(v / (width if k % 2 == 0 else height), 0.0), 1.0) for k, v in enumerate(poly))
    return " ".join([str(index), *(f"{v:.{DIGITS}f}" for v in coords)])


def export_yolo(project: Project, out: str | Path, names: list[str] | None = None, layer: str = "corrected",
                include_scores: bool = False, progress: ProgressFn | None = None,
                cancel: CancelToken | None = None) -> ExportReport:
    """OUT/data.yaml (names in index order) and OUT/labels/<image path>.txt for each image with objects."""
    out = Path(out)
    if out.is_file():
        raise InputError(f"{out} is a file; YOLO labels are written into a folder. Give a folder.")
    names = project.image_names() if names is None else names
    classes = export_classes(project)
    index = {c.id: k for k, c in enumerate(classes)}
    report = ExportReport()
    skipped = {"crowd": 0, "box": 0, "split": 0, "holes": 0}
    box_images: dict[str, int] = {}  # image -> box-only objects left out (named in the warning)

    def build(name, ann):
        lay = layer_of(ann, layer)
        if lay is None or lay.is_empty():
            return {}
        lines = []
        for inst in export_objects(ann, lay):
            if inst.class_id not in index:
                raise InputError(f"{name}: object {inst.id} has class id {inst.class_id}, which is not in the class "
                                 "list; nothing was written. Give it a class and export again.")
            if inst.iscrowd or inst.mask.is_empty:
                skipped["crowd" if inst.iscrowd else "box"] += 1
                if not inst.iscrowd:
                    box_images[name] = box_images.get(name, 0) + 1
                continue
            parts, holes = outlines_with_holes(inst.mask)
            skipped["holes"] += holes > 0
            skipped["split"] += len(parts) > 1
            poly = one_ring(parts)
            report.polygon_ious.append(polygon_iou(inst.mask, [poly]))
            lines.append(_line(index[inst.class_id], poly, ann.width, ann.height))
        report.images += 1
        report.objects += len(lines)
        target = out / "labels" / PurePosixPath(name).with_suffix(".txt")
        return {target: ("\n".join(lines) + "\n" if lines else "").encode()}

    build_and_write(project, names, build, progress, cancel, extra={out / "data.yaml": _data_yaml(out, classes)})
    _report_skips(report, skipped, box_images)
    return report


def _data_yaml(out: Path, classes) -> bytes:
    lines = ["# YOLO segmentation labels written by Maskwork (Ultralytics format).",
             "# Ultralytics finds labels/<x>.txt for images/<x>.<ext>: put the images into images/.",
             f"path: {json.dumps(str(out.resolve()))}", "train: images", "val: images", f"nc: {len(classes)}", "names:"]
    lines += [f"  {k}: {json.dumps(c.name, ensure_ascii=False)}" for k, c in enumerate(classes)]
    return ("\n".join(lines) + "\n").encode()


def _report_skips(report: ExportReport, skipped: dict[str, int], box_images: dict[str, int]) -> None:
    boxes = skipped.pop("box", 0)
    if boxes:  # first: the one skip that loses objects
        where = listing([f"{name} ({n})" for name, n in box_images.items()], 5)
        report.warnings.append(
            f"{plural(boxes, 'box-only object')} (a box, no mask yet) {'was' if boxes == 1 else 'were'} NOT "
            f"written, in {where}: YOLO segmentation labels hold polygons only, and the box as a polygon would "
            "train a model on wrong masks. Give them masks (paint inside the box, or click-to-segment) or export "
            "COCO or labelme, which keep boxes.")
    texts = {"crowd": "crowd regions were left out (YOLO has no crowd flag; Ultralytics' converter skips them)",
             "split": "objects in several parts were written as one line each, parts joined by zero-width bridges",
             "holes": "objects had holes, kept by zero-width bridges into their outline (Ultralytics' loader and "
                      "pycocotools leave them empty; tools that fill each outline whole would not)"}
    report.warnings += [f"{n} {texts[key]}" for key, n in skipped.items() if n]

