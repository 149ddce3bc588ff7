"""project.json read back: the newer of the saved file and its journal copy, checked before a Project is made.

Project.open reads it here; Project.meta_document writes the same fields (FORMAT, VERSION, task, classes,
settings, image_root, saved_ns). Split from core/store/project.py, which keeps the live state (ADR 0021).
"""
from __future__ import annotations

from pathlib import Path

from maskwork.core.domain.errors import InputError, ProjectError
from maskwork.core.store.names import AUTOSAVE_DIR, PROJECT_FILE
from maskwork.core.store.schemas import ProjectFile, StoredFile, load_json

FORMAT = "maskwork-project"
VERSION = 1
TASKS = ("semantic", "instance")


def read_stored(path: Path, schema: type[StoredFile] = ProjectFile) -> dict:
    """A stored file's document, checked against its schema (InputError: one sentence, file and field)."""
    try:
        return load_json(path, schema)
    except OSError as exc:
        raise ProjectError(f"cannot read {path}: {exc.strerror or exc}. Check the folder's permissions.") from exc


def check_task(task: str) -> str:
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; use one of {', '.join(TASKS)}.")
    return task


def has_meta(store: Path) -> bool:
    """The store holds a project.json, saved or only journaled (a plain folder has neither)."""
    return (store / PROJECT_FILE).exists() or (store / AUTOSAVE_DIR / PROJECT_FILE).exists()


def read_meta(store: Path) -> tuple[dict, bool]:
    """(project.json's document, whether its journal copy was newer and is the one returned). A damaged journal
    copy is skipped with a note in the document's "_warnings"; a file that is not a Maskwork project, or one of a
    newer Maskwork, raises InputError."""
    meta_path, journal = store / PROJECT_FILE, store / AUTOSAVE_DIR / PROJECT_FILE
    meta: dict = read_stored(meta_path) if meta_path.exists() else {"saved_ns": -1}
    recovered = False
    if journal.exists():
        try:
            newer = read_stored(journal)
            if newer.get("saved_ns", 0) > meta.get("saved_ns", 0):
                meta, recovered = newer, True
        except InputError as exc:
            meta.setdefault("_warnings", []).append(str(exc))
    if meta.get("format") != FORMAT:
        raise InputError(f"{meta_path} is not a Maskwork project file; move it away and open the folder again.")
    if int(meta.get("version", 0)) > VERSION:
        raise InputError(f"{meta_path} was written by a newer Maskwork (version {meta['version']}); "
                         "update Maskwork.")
    return meta, recovered
