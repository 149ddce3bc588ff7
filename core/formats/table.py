"""Every file format Maskwork reads and writes, as one table (ADR 0020). The CLI's `import --format` and
`export --format` choices, its guess of a source's format, the File menu's Import entries and the export
dialog are all built from FORMATS; adding a format is one module (its reader, writers and detector) and one
row here.

A Codec reads a source into a project's corrected layers (all or nothing, `overwrite` to replace corrected
work) and writes a layer out through its export variants (COCO has two: RLE and polygons)."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskwork.core.domain.errors import InputError
from maskwork.core.store import bounded


class Lazy:
    """A format module's function named in the table, imported when first called: `main.py --help` and the
    CLI's argument parsing stay free of pycocotools, OpenCV and PIL (0.7 s of imports)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = f"maskwork.core.formats.{module}", name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(self.module), self.name)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"{self.module}.{self.name}"


Reader = Callable[..., Any]  # (project, source, overwrite=, task=, progress=) -> steps.ImportReport
Writer = Callable[..., Any]  # (project, out, names, layer, include_scores=, progress=, cancel=) -> ExportReport


@dataclass(frozen=True)
class ExportVariant:
    name: str           # the `export --format` value
    description: str    # the export dialog's line
    target: str         # "file" (one .json) or "folder"
    writes_images: bool  # its files are images (the writer guard keeps them out of an image folder)
    write: Writer
    folder_title: str = ""  # the folder dialog's title, for folder targets


@dataclass(frozen=True)
class Codec:
    name: str           # the `import --format` value, and the File menu's action key import_<name>
    title: str          # "COCO JSON": File > Import COCO JSON…
    source: str         # "file", "folder" or "file or folder"
    help: str           # what a source is, for the menu's tooltip and the CLI's refusals
    file_filter: str    # the file dialog's filter when the source is a file
    detect: Callable[[Path], bool]  # does this source look like this format (the CLI's guess)
    read: Reader
    exports: tuple[ExportVariant, ...]
    fallback: bool = False  # detect() takes any file or folder: asked only after every specific format said no


def _json_head(path: Path) -> bytes:
    """The first 64 KiB of a JSON file (a regular file only: a FIFO or /dev/zero is refused)."""
    with bounded.open_binary(path, limit=bounded.DATASET_JSON, what="annotation file") as fh:
        return fh.read(1 << 16)


def _labelme_doc(head: bytes) -> bool:
    return b'"shapes"' in head and b'"imagePath"' in head


def _is_yolo(source: Path) -> bool:
    from maskwork.core.formats.label_files import find_label_files

    return source.is_dir() and bool(find_label_files(source, ".txt", skip_names=("classes.txt",)))


def _is_labelme(source: Path) -> bool:
    if source.is_file():
        return source.suffix.lower() == ".json" and _labelme_doc(_json_head(source))
    if not source.is_dir():
        return False
    from maskwork.core.formats.label_files import find_label_files

    jsons = find_label_files(source, ".json", skip_names=("classes.json",))
    return bool(jsons) and b'"shapes"' in _json_head(jsons[0])


FORMATS: tuple[Codec, ...] = (  # the File menu's order
    Codec("coco", "COCO JSON", "file", "a COCO instances .json file", "COCO (*.json)",
          Path.is_file, Lazy("coco_project", "import_coco_file"),
          (ExportVariant("coco-rle", "COCO JSON, masks as RLE (lossless)", "file", False,
                         Lazy("coco_project", "export_coco_rle")),
           ExportVariant("coco-polygon", "COCO JSON, masks as polygons (no holes)", "file", False,
                         Lazy("coco_project", "export_coco_polygon"))),
          fallback=True),
    Codec("png", "PNG masks", "folder",
          "a folder of PNG masks (label maps, or 16-bit instance PNGs with classes.json)", "",
          Path.is_dir, Lazy("png_project", "import_png_folder"),
          (ExportVariant("png", "PNG label maps (class id per pixel)", "folder", True,
                         Lazy("png_project", "export_label_pngs")),
           ExportVariant("instance-png", "16-bit instance PNGs + JSON", "folder", True,
                         Lazy("png_project", "export_instance_pngs"))),
          fallback=True),
    Codec("yolo", "YOLO labels", "folder",
          "a folder of YOLO segmentation .txt labels (names from data.yaml or classes.txt)", "",
          _is_yolo, Lazy("yolo_labels", "import_yolo"),
          (ExportVariant("yolo", "YOLO segmentation labels (.txt + data.yaml, holes bridged, no box-only objects)",
                         "folder", False, Lazy("yolo_labels", "export_yolo"),
                         "Folder for the YOLO labels (labels/ and data.yaml)"),)),
    Codec("labelme", "labelme JSON", "file or folder", "a labelme .json file, or a folder of them", "labelme (*.json)",
          _is_labelme, Lazy("labelme", "import_labelme"),
          (ExportVariant("labelme", "labelme JSON, one per image (holes as mask shapes, boxes as rectangles)",
                         "folder", False, Lazy("labelme", "export_labelme"),
                         "Folder for the labelme files (the project folder puts them beside the images)"),)),
)

IMPORT_FORMATS = tuple(c.name for c in FORMATS)
EXPORTS = {v.name: v for c in FORMATS for v in c.exports}
EXPORT_FORMATS = tuple(EXPORTS)


def codec(name: str) -> Codec:
    found = next((c for c in FORMATS if c.name == name), None)
    if found is None:
        raise InputError(f"unknown import format {name!r}; use one of {', '.join(IMPORT_FORMATS)}.")
    return found


def export_variant(name: str) -> ExportVariant:
    if name not in EXPORTS:
        raise InputError(f"unknown export format {name!r}; use one of {', '.join(EXPORT_FORMATS)}.")
    return EXPORTS[name]


def guess_import_format(source: Path) -> str:
    """The first specific codec that recognises the source, else the first fallback (any file: COCO, any
    folder: PNG); a path that is nothing yet goes to COCO (import_source says it is missing)."""
    ordered = [c for c in FORMATS if not c.fallback] + [c for c in FORMATS if c.fallback]
    return next((c.name for c in ordered if c.detect(source)), "coco")


def guess_export_format(out: str | Path, task: str) -> str:
    """COCO RLE for a .json, else PNG label maps (semantic) or instance PNGs."""
    if str(out).lower().endswith(".json"):
        return "coco-rle"
    return "png" if task == "semantic" else "instance-png"


def fits_source(c: Codec, source: Path) -> bool:
    """Is the source the kind of path the codec reads (file, folder)?"""
    return (source.is_file() and "file" in c.source) or (source.is_dir() and "folder" in c.source)
