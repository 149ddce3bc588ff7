"""The small stored files: the project lock, an import's COMMIT manifest, a checkpoint's header sidecar."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from maskwork.core.store import bounded
from maskwork.core.store.schemas.base import StoredFile, Version
from maskwork.core.store.schemas.project_file import ClassEntry


class LockFile(StoredFile):
    """.maskwork/lock (core.store.project_lock): who writes the project."""

    WHAT = "lock file"
    FIX = "if no Maskwork has this project open, delete it."
    LIMIT = bounded.LOCK_FILE

    pid: Annotated[int, Field(ge=0, le=(1 << 31))]
    host: str
    app: str = "a program"
    since: float = 0.0
    proc_start: int | None = None
    boot_id: str | None = None
    token: str = ""


class ImportCommit(StoredFile):
    """.maskwork/import-staging/<id>/COMMIT (core.store.import_txn): the files a finished import moves in."""

    WHAT = "import manifest"
    FIX = ("the interrupted import can be neither finished nor undone safely; restore .maskwork from a backup or "
           "delete that folder and import again.")

    format: Literal["maskwork-import-commit"]
    files: list[str]
    images: Annotated[int, Field(ge=0)] = 0
    base_saved_ns: int | None = None   # saved_ns of the project.json the import was built on
    saved_ns: int | None = None        # saved_ns of the project.json it brings


class CheckpointSidecar(StoredFile):
    """<checkpoint>.header.json (core.models.catalog.headers): the checkpoint's description, read without torch."""

    WHAT = "checkpoint header"
    FIX = "it is ignored and the checkpoint itself is read instead."
    SUPPORTED_VERSION = 1

    format: Literal["maskwork-checkpoint-header"]
    version: Version = 1
    pickle_crc32: Annotated[int, Field(ge=0, le=0xFFFFFFFF)]
    arch: str | None = None
    task: Literal["semantic", "instance"] | None = None
    classes: list[ClassEntry] | None = None
    input: dict | None = None


class CachedPrediction(StoredFile):
    """<cache>/<model>/<image>.json (core.comparison.cache): one instance model's detections on one image."""

    WHAT = "cached prediction"
    FIX = "it is predicted again."
    LIMIT = bounded.ANNOTATION_JSON

    detections: list[dict]
    latency_ms: Annotated[float, Field(ge=0)]
