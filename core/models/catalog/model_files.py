"""Is this model file already one of the user's models? Same file (resolved path) or same bytes (sha256,
hashed only for registered files of the same size), so one file is not listed twice under two names.

Reads <config>/models.json through core.models.catalog.user_models; writes nothing, imports no torch.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from maskwork.core.models.catalog.user_models import read_entries
from maskwork.core.store import bounded

CHUNK = 1 << 20


def _files(entry: dict) -> list[Path]:
    """The files of one entry: its path, and the int8 file paired with it."""
    return [Path(p) for p in (entry.get("path"), entry.get("int8_path")) if p]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with bounded.open_binary(path, limit=bounded.MODEL_FILE, what="model file") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def registered_as(path: str | Path, new_name: str | None = None) -> str | None:
    """The name of the user's model that already holds this file, else None. An entry of the name the file
    is being registered under does not count: registering again under one name updates that entry."""
    path = Path(path).expanduser().resolve()
    try:
        size = path.stat().st_size
    except OSError:
        return None  # registration says what is wrong with the path
    own_hash = None
    for entry in read_entries():
        if entry.get("name") == new_name:
            continue
        for other in _files(entry):
            try:
                if other.resolve() == path:
                    return str(entry["name"])
                if other.stat().st_size != size:
                    continue
                own_hash = own_hash or _sha256(path)
                if _sha256(other) == own_hash:
                    return str(entry["name"])
            except OSError:  # a registered file that moved away holds nothing
                continue
    return None
