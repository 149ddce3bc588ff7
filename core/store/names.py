"""The fixed names inside a project's store, in one place, so that every reader and writer agrees (ADR 0001).

  <folder>/.maskwork/                           STORE_DIR
      project.json                              PROJECT_FILE
      annotations/<image>.json                  ANNOTATIONS_DIR
      autosave/project.json                     AUTOSAVE_DIR / PROJECT_FILE (the class list's journal entry)
      autosave/annotations/<image>.json         AUTOSAVE_DIR / ANNOTATIONS_DIR (snapshots of unsaved work)
      autosave/edits/<image>.log                AUTOSAVE_DIR / EDITS_DIR (the crash journal)
      lock                                      LOCK_FILE (core.store.project_lock)
      import-staging/<pid>-<ns>/                IMPORT_STAGING_DIR (core.store.import_txn)
      forgotten/<time>/                         FORGOTTEN_DIR (core.store.forget)

A leaf: it imports nothing, so any module (the store's own, the formats, training, the GUI) may import it.
"""
from __future__ import annotations

from pathlib import Path

STORE_DIR = ".maskwork"
PROJECT_FILE = "project.json"
ANNOTATIONS_DIR = "annotations"
AUTOSAVE_DIR = "autosave"
EDITS_DIR = "edits"
LOCK_FILE = "lock"
IMPORT_STAGING_DIR = "import-staging"
FORGOTTEN_DIR = "forgotten"


def project_file(folder: str | Path) -> Path:
    """<folder>/.maskwork/project.json: a folder is a saved Maskwork project when this file exists."""
    return Path(folder) / STORE_DIR / PROJECT_FILE


def is_project(folder: str | Path) -> bool:
    """A saved project: not just a `.maskwork/` folder (a window's lock makes that before the first save)."""
    return project_file(folder).is_file()
