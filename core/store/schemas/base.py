"""What every stored-file schema declares besides its fields: what the file is called in a message, the
most bytes it may have, the newest version this Maskwork reads, and what the user should do when it is damaged."""
from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from maskwork.core.store import bounded

# JSON has exact types and Maskwork writes exact types: strict, so "12" is not taken for 12 (the readers
# use the parsed document as it is). Unknown keys are kept: a file may carry what another tool added.
STRICT = ConfigDict(strict=True, extra="allow")

MAX_SIDE = 1 << 20                 # pixels on one side of an image (far above the 200 MP limit's sides)
MAX_CLASS_ID = 65535               # label maps are uint16 at most
Side = Annotated[int, Field(ge=1, le=MAX_SIDE)]
Offset = Annotated[int, Field(ge=0, le=MAX_SIDE)]
Count = Annotated[int, Field(ge=0, le=MAX_SIDE)]
ClassId = Annotated[int, Field(ge=0, le=MAX_CLASS_ID)]
Version = Annotated[int, Field(ge=0)]
Nanoseconds = Annotated[int, Field(ge=-1)]  # -1: "older than anything" (a plain folder's journal)


class Part(BaseModel):
    """A nested object of a stored file."""

    model_config = STRICT


class StoredFile(Part):
    WHAT: ClassVar[str] = "file"                    # "project file", "annotation file", ... (bounded reads)
    FIX: ClassVar[str] = "restore it from a backup or delete it."
    LIMIT: ClassVar[int] = bounded.SMALL_JSON
    SUPPORTED_VERSION: ClassVar[int | None] = None   # None: the file has no version field
