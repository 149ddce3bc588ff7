"""The list of the user's own models (<config dir>/models.json, core.models.catalog.user_models): the file as a
whole, then each entry on its own (a damaged entry is skipped with a message, the others stay usable)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from maskwork.core.store.schemas.base import StoredFile, Version
from maskwork.core.store.schemas.project_file import ClassEntry


class ModelsFile(StoredFile):
    WHAT = "model list"
    FIX = ("fix it in a text editor or delete it and register your checkpoints again; the checkpoint files "
           "themselves are untouched.")
    SUPPORTED_VERSION = 1

    version: Version = 1
    models: list  # entries are checked one by one (ModelEntry)


class ModelEntry(StoredFile):
    WHAT = "model list"
    FIX = "this model is left out of the list; register it again or fix the entry in a text editor."

    name: str = Field(min_length=1)
    path: str = Field(min_length=1)
    arch: str = Field(min_length=1)  # which network; an ONNX entry says "onnx"
    backend: Literal["onnx"] | None = None
    task: Literal["semantic", "instance"] | None = None
    classes: list[ClassEntry]
    input: dict | None = None
    description: str | None = None


class SamModelsFile(StoredFile):
    """<config dir>/sam_models.json (core.interactive.sam.catalog): the user's own promptable model pairs."""

    WHAT = "model list"
    FIX = "fix it in a text editor or delete it and register the pairs again (the ONNX files are untouched)."
    SUPPORTED_VERSION = 1

    version: Version = 1
    models: dict[str, dict]
