"""The crash journal (.maskwork/autosave/edits/<image>.log): framed records (core.store.edit_log), each one
JSON object. The first is the header {"log": id}; every other one is an edit record (core.store.journal.changes)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from maskwork.core.store import bounded
from maskwork.core.store.schemas.annotation_file import LabelMapPng, Status, StoredInstance
from maskwork.core.store.schemas.base import Count, Offset, Part, Side, StoredFile

JOURNAL_FIX = "the edits in that log cannot be replayed; the file is kept for inspection."


class LogHeader(StoredFile):
    WHAT = "crash journal"
    FIX = JOURNAL_FIX
    LIMIT = bounded.EDIT_LOG

    log: str


class LabelMapWindow(LabelMapPng):
    x0: Offset
    y0: Offset
    h: Count
    w: Count
    map_dtype: Literal["uint8", "uint16"]


class InstanceChanges(Part):
    set: list[StoredInstance]
    delete: list[int] = Field(alias="del")
    order: list[int] | None
    size: Annotated[list[Side], Field(min_length=2, max_length=2)]


class JournalRecord(StoredFile):
    WHAT = "crash journal"
    FIX = JOURNAL_FIX
    LIMIT = bounded.EDIT_LOG

    seq: Annotated[int, Field(ge=1)]
    status: Status
    full: bool = False
    lm: LabelMapWindow | None = None
    inst: InstanceChanges | None = None
