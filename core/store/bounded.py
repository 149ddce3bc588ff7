"""Every byte Maskwork reads from a user's file comes through here: regular files only, at most `limit` bytes.

A path that is (or links to) a FIFO would block the reader forever, /dev/zero would be read until memory runs
out, and a huge regular file costs its size before any check could see it. So a file is opened with O_NONBLOCK
(a FIFO without a writer does not block the open), the *opened* descriptor is checked with fstat (no race with
a swapped link), and reading stops one byte past the limit. Libraries that insist on a path (onnxruntime, PIL's
lazy decoders, torch.load) get the path after `check_file` has vetted it the same way.

tests/unit/test_bounded_reads.py walks core/ and fails on any raw read outside this module and its allow-list.
"""
from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from maskwork.core.domain.errors import InputError

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

# Limits per kind of input: generous for real data, far below what would exhaust memory.
LOCK_FILE = 64 * KiB            # .maskwork/lock: a few hundred bytes of JSON
SMALL_JSON = 64 * MiB           # project.json, sidecars, settings, model metadata, catalogs, classes.json
ANNOTATION_JSON = 1 * GiB       # one image's stored annotation (RLE of up to 200 MP)
DATASET_JSON = 4 * GiB          # a COCO / labelme file being imported (LVIS train is 1.1 GB)
LABEL_TEXT = 64 * MiB           # one YOLO .txt label file
IMAGE_FILE = 4 * GiB            # an image or mask file on disk (a 200 MP 16-bit RGBA TIFF is 1.6 GB)
MODEL_FILE = 16 * GiB           # an ONNX model or a checkpoint (passed to onnxruntime / torch by path)
EDIT_LOG = 4 * GiB              # one image's crash-journal log

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _size_text(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def _not_regular(path: Path, mode: int, what: str) -> InputError:
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    link = f" (it links to {os.path.realpath(path)})" if path.is_symlink() else ""
    return InputError(f"{what} {path} is {kind}{link}, not a regular file; replace it with the real file.")


def _too_big(path: Path, size: int, limit: int, what: str) -> InputError:
    return InputError(f"{what} {path} is too large ({_size_text(size)}, above the {_size_text(limit)} limit for "
                      f"a {what}); check that it is the right file.")


def _open_fd(path: Path, what: str) -> int:
    """An fd on a regular file (O_NONBLOCK so a FIFO cannot block the open); InputError/OSError otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode, what)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return fd
    except BaseException:
        os.close(fd)
        raise


def check_file(path: str | Path, *, limit: int, what: str) -> Path:
    """`path` if it is a regular file of at most `limit` bytes (for libraries that open it themselves)."""
    path = Path(path)
    fd = _open_fd(path, what)
    try:
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size > limit:
        raise _too_big(path, size, limit, what)
    return path


@contextmanager
def open_binary(path: str | Path, *, limit: int, what: str) -> Iterator[BinaryIO]:
    """A binary file object on a vetted regular file of at most `limit` bytes (for streaming parsers)."""
    path = Path(path)
    fd = _open_fd(path, what)
    size = os.fstat(fd).st_size
    if size > limit:
        os.close(fd)
        raise _too_big(path, size, limit, what)
    with os.fdopen(fd, "rb") as fh:
        yield fh


def read_bytes(path: str | Path, *, limit: int, what: str) -> bytes:
    """The whole file, refused when it is not a regular file or holds more than `limit` bytes.

    Reads at most limit + 1 bytes whatever fstat said: a file that grows while being read is refused too."""
    path = Path(path)
    fd = _open_fd(path, what)
    with os.fdopen(fd, "rb") as fh:
        size = os.fstat(fd).st_size
        if size > limit:
            raise _too_big(path, size, limit, what)
        buf = io.BytesIO()
        left = limit + 1
        while left > 0:
            chunk = fh.read(min(left, 8 * MiB))
            if not chunk:
                break
            buf.write(chunk)
            left -= len(chunk)
    data = buf.getvalue()
    if len(data) > limit:
        raise _too_big(path, len(data), limit, what)
    return data


def read_text(path: str | Path, *, limit: int, what: str, encoding: str = "utf-8") -> str:
    """read_bytes decoded; a file that is not valid `encoding` text raises UnicodeDecodeError (a ValueError)."""
    return read_bytes(path, limit=limit, what=what).decode(encoding)
