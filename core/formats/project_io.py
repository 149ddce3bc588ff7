"""Import into a project and export from it, in any format of the format table (core.formats.table): the one
entry the CLI (`import`, `export`) and the window (File > Import, Export) share.

Imports are all-or-nothing: every check (images present, sizes, classes, existing corrected work,
two entries naming one image) runs before the first annotation is replaced, so a refused import
leaves the project unchanged. On disk the CLI commits the result with core.store.import_txn, so a
killed import leaves the old work or the new one; the GUI keeps it in memory until the user saves.
Existing corrected work is only replaced with `overwrite=True`; predictions are always kept.
"""
from __future__ import annotations

import fnmatch
from pathlib import Path

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken, ProgressFn
from maskwork.core.formats.coco_export import ExportReport
from maskwork.core.formats.export_scope import export_names
from maskwork.core.formats.steps import ImportReport
from maskwork.core.formats.table import codec, export_variant, fits_source, guess_export_format, guess_import_format
from maskwork.core.store.project import Project
from maskwork.core.store.writer_guard import check_output


def import_source(project: Project, source: str | Path, fmt: str | None = None, overwrite: bool = False,
                  task: str | None = None, progress: ProgressFn | None = None) -> ImportReport:
    """Read `source` in format `fmt` (None: guessed from the source) into the project's corrected layers."""
    source = Path(source)
    c = codec(fmt or guess_import_format(source))
    if not source.exists():
        raise InputError(f"{source} does not exist; check the path (the {c.title} source is {c.help}).")
    if not (source.is_file() or source.is_dir()):
        raise InputError(f"{source} is neither a regular file nor a folder (a pipe or a device?); give the "
                         f"{c.title} source itself: {c.help}.")
    if not fits_source(c, source):
        raise InputError(f"{source} is not a {c.title} source: {c.name} reads {c.help}. Give such a "
                         "source, or another --format.")
    return c.read(project, source, overwrite=overwrite, task=task, progress=progress)


def export_target(fmt: str | None, out: str | Path) -> tuple[str, bool]:
    """(kind, writes images) of an export; no format: COCO for a .json, else PNG masks (as the CLI guesses)."""
    variant = export_variant(fmt or guess_export_format(out, "semantic"))
    return variant.target, variant.writes_images


def check_export_target(project: Project, out: str | Path, fmt: str) -> None:
    """The writer guard for an export, before anything is read or written (CLI and GUI alike)."""
    kind, images = export_target(fmt, out)
    check_output(out, kind=kind, writes_images=images, suffix=".json", projects=[project.root, project.store.parent])


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
    """Write a layer in format `fmt` (core.formats.table.EXPORT_FORMATS); only_corrected: core.formats.export_scope.

    All or nothing: a Ctrl-C raises KeyboardInterrupt saying whether anything was written."""
    try:
        variant = export_variant(fmt)
        check_export_target(project, out, fmt)
        chosen = export_names(project, names, layer, only_corrected)
        return variant.write(project, Path(out), chosen, layer, include_scores=include_scores, progress=progress,
                             cancel=cancel)
    except KeyboardInterrupt as exc:
        if str(exc):  # the writer said what it left (core.store.staged_folder)
            raise
        raise KeyboardInterrupt(f"nothing was written to {out}") from None
