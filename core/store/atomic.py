"""Atomic file writes: a reader sees the old file or the new one, never a half-written one.

Write to a temp file in the same folder, flush + fsync, os.replace over the target, then fsync the
folder so the rename itself survives a power cut. Any OSError becomes a ProjectError that says what
to do; the temp file is removed so nothing partial is left behind.
"""
from __future__ import annotations

import errno
import json
import os
import tempfile
from enum import Enum
from pathlib import Path, PurePath

from maskwork.core.domain.errors import ProjectError

TEMP_SUFFIX = ".mwtmp"  # temp files left by a killed process carry this suffix and are ignored


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_DEFAULT_MODE = _default_mode()  # mkstemp makes 0600 files; saved files get the usual permissions


def _advice(exc: OSError, path: Path) -> str:
    """What to do, for any writer (the CLI has no unsaved work: the GUI adds that its work is still open)."""
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"the folder {path.parent} is read-only or not yours. Make it writable, or write to another folder"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full. Free some space and try again"
    return "check that the folder exists and is writable, then try again"


def fsync_dir(folder: Path) -> None:
    """Make a rename durable; not possible on some platforms/filesystems, where it is skipped."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=TEMP_SUFFIX)
        try:
            os.fchmod(fd, path.stat().st_mode & 0o7777 if path.exists() else _DEFAULT_MODE)
        except (OSError, AttributeError):  # no fchmod on Windows: keep the temp file's mode
            pass
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
        fsync_dir(path.parent)
    except OSError as exc:
        raise ProjectError(f"cannot write {path}: {exc.strerror or exc}; {_advice(exc, path)}.") from exc
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def json_plain(value):
    """numpy scalars/arrays, paths and enums that end up in settings or metadata, as JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} cannot be written to JSON")


def json_bytes(obj, indent: int | None = None) -> bytes:
    return json.dumps(obj, indent=indent, ensure_ascii=False, default=json_plain,
                      separators=None if indent else (",", ":")).encode()


def save_json_atomic(path: str | Path, obj, indent: int | None = None) -> None:
    write_bytes_atomic(path, json_bytes(obj, indent))
