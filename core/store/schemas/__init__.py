"""Declared schemas of every file Maskwork stores and reads back, and the one loader that applies them.

Readers call `load_json(path_or_bytes, Schema)` (or `check(doc, Schema)` for a document parsed elsewhere);
a damaged field comes back as one InputError sentence naming the file, the field and what to do.
STORED_FILES lists each kind of stored file with its schema and its reader; tests/unit/test_store_schemas.py
walks core/ and fails on a json.load(s) of a stored file outside this loader.
"""
from __future__ import annotations

from typing import NamedTuple

from maskwork.core.store.schemas.annotation_file import AnnotationFile
from maskwork.core.store.schemas.base import StoredFile
from maskwork.core.store.schemas.journal_records import JournalRecord, LogHeader
from maskwork.core.store.schemas.loader import MAX_DEPTH, TooDeep, check, load_json, loads, parse_json
from maskwork.core.store.schemas.models_file import ModelEntry, ModelsFile, SamModelsFile
from maskwork.core.store.schemas.project_file import ProjectFile
from maskwork.core.store.schemas.small_files import CachedPrediction, CheckpointSidecar, ImportCommit, LockFile


class StoredKind(NamedTuple):
    where: str                       # the file's place, as the user would look for it
    schemas: tuple[type[StoredFile], ...]
    readers: tuple[str, ...]         # the core modules that read it (through load_json / check)


STORED_FILES = (
    StoredKind(".maskwork/project.json", (ProjectFile,),
               ("core/store/project_meta.py", "core/store/review.py", "core/store/saved_state.py",
                "core/store/import_txn.py")),
    StoredKind(".maskwork/autosave/project.json", (ProjectFile,), ("core/store/project_meta.py",)),
    StoredKind(".maskwork/annotations/<image>.json", (AnnotationFile,),
               ("core/store/project.py", "core/store/recovery.py", "core/store/saved_state.py",
                "core/cluster/writers.py")),
    StoredKind(".maskwork/autosave/annotations/<image>.json", (AnnotationFile,), ("core/store/recovery.py",)),
    StoredKind(".maskwork/autosave/edits/<image>.log", (LogHeader, JournalRecord),
               ("core/store/journal/journal.py", "core/store/recovery.py")),
    StoredKind(".maskwork/lock (and an import's OWNER)", (LockFile,), ("core/store/project_lock.py",)),
    StoredKind(".maskwork/import-staging/<id>/COMMIT", (ImportCommit,), ("core/store/import_txn.py",)),
    StoredKind("<config>/models.json", (ModelsFile, ModelEntry), ("core/models/catalog/user_models.py",)),
    StoredKind("<config>/sam_models.json", (SamModelsFile,), ("core/interactive/sam/catalog.py",)),
    StoredKind("<checkpoint>.header.json", (CheckpointSidecar,), ("core/models/catalog/headers.py",)),
    StoredKind("<cache>/<model>/<image>.json (comparison cache)", (CachedPrediction,), ("core/comparison/cache.py",)),
)

__all__ = ["MAX_DEPTH", "STORED_FILES", "AnnotationFile", "CachedPrediction", "CheckpointSidecar", "ImportCommit",
           "JournalRecord", "LockFile", "LogHeader", "ModelEntry", "ModelsFile", "ProjectFile", "SamModelsFile",
           "StoredFile", "StoredKind", "TooDeep", "check", "load_json", "loads", "parse_json"]
