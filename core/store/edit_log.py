"""An append-only log file of records that survives being cut off at any byte.

Each record is framed as  MAGIC (2 bytes) | length (4 bytes, big endian) | crc32 (4 bytes) | payload.
A process killed while appending leaves a torn last record: reading stops at the first frame whose
length runs past the end or whose checksum does not match, and everything before it is returned.
The payload is UTF-8 JSON (one object per record). The first record of every log is its header,
{"log": <id>}, so a reader can tell two generations of a log apart.
"""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

from maskwork.core.domain.errors import InputError
from maskwork.core.store import bounded
from maskwork.core.store.schemas.loader import parse_json

MAGIC = b"MW"
_HEAD = struct.Struct(">2sII")
MAX_RECORD = 1 << 31  # a frame claiming more is damage, not data


def frame(payload: dict) -> bytes:
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    return _HEAD.pack(MAGIC, len(body), zlib.crc32(body)) + body


def read_log(path: str | Path) -> tuple[list[dict], bool]:
    """(records, torn): the intact records in order, and whether damage was cut off at the end."""
    data = bounded.read_bytes(path, limit=bounded.EDIT_LOG, what="crash-journal log")
    records: list[dict] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < _HEAD.size:
            return records, True
        magic, length, crc = _HEAD.unpack_from(data, pos)
        start, end = pos + _HEAD.size, pos + _HEAD.size + length
        if magic != MAGIC or length > MAX_RECORD or end > len(data):
            return records, True
        body = data[start:end]
        if zlib.crc32(body) != crc:
            return records, True
        try:  # depth-limited (core.store.schemas); the fields are checked where the records are used
            records.append(parse_json(body, str(path), "the rest of the log is cut off."))
        except InputError:
            return records, True
        pos = end
    return records, False
