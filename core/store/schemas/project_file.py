"""The project file (.maskwork/project.json, and its journal copy .maskwork/autosave/project.json): the
layout core.store.project writes, version 1."""
from __future__ import annotations

from typing import Literal

from maskwork.core.store.schemas.base import ClassId, Nanoseconds, Part, StoredFile, Version


class ClassEntry(Part):
    id: ClassId
    name: str
    color: str | None = None


class Settings(Part):
    """The settings Maskwork itself reads; anything else is kept as it is."""

    exclude_dirs: list[str] = []
    reviewed: list[str] = []
    locks: dict = {}
    coco: dict = {}


class ProjectFile(StoredFile):
    WHAT = "project file"
    FIX = "fix that field in a text editor or restore the file from a backup."
    SUPPORTED_VERSION = 1

    format: Literal["maskwork-project"]
    version: Version
    task: Literal["semantic", "instance"] = "semantic"
    classes: list[ClassEntry] = []
    settings: Settings = Settings()
    saved_ns: Nanoseconds = 0
    image_root: str | None = None
