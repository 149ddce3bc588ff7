"""The one way a stored file's JSON comes back: bounded bytes -> depth-checked parse -> declared schema.

`load_json(path_or_bytes, Schema, where=...)` returns the parsed document (plain dicts and lists, exactly
what json.loads gives, so readers keep working on them) once it fits its schema, else raises InputError
with one sentence: the file, the field, what is wrong, what to do. Three refusals come before the schema:
- nesting deeper than MAX_DEPTH (a 200 KB `[[[[...` would otherwise end in RecursionError),
- text that is not JSON (the line and column),
- a `version` above the schema's SUPPORTED_VERSION: "written by a newer Maskwork (version X)".
`check(doc, Schema, where=...)` validates a document parsed elsewhere (a crash-journal record).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from maskwork.core.domain.errors import InputError
from maskwork.core.store import bounded
from maskwork.core.store.schemas.base import StoredFile
from maskwork.core.store.schemas.messages import sentence

MAX_DEPTH = 32  # the deepest stored file (an annotation: doc > layer > instances > item > rle > size) is 6
_STRUCTURE = bytes(range(256)).translate(None, b'[]{}"')  # every byte but brackets and quotes: deleted
_QUOTE = ord('"')
_STEP = np.zeros(256, np.int8)
_STEP[list(b"[{")], _STEP[list(b"]}")] = 1, -1
_CHUNK = 1 << 24


def nesting_depth(data: bytes) -> int:
    """How deep the brackets of JSON text nest, strings skipped; no recursion, C speed, little memory (a
    COCO file keeps a few percent of its bytes after the first step)."""
    if b"\\" in data:  # escapes live in strings only: drop escaped backslashes first, then escaped quotes
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = data.translate(None, _STRUCTURE)
    depth = deepest = inside = 0
    for start in range(0, len(skeleton), _CHUNK):
        part = np.frombuffer(skeleton, np.uint8, min(_CHUNK, len(skeleton) - start), start)
        in_string = (np.cumsum(part == _QUOTE, dtype=np.int64) + inside) & 1  # odd quote count so far: inside
        levels = depth + np.cumsum(np.where(in_string == 1, 0, _STEP[part]), dtype=np.int64)
        deepest, depth, inside = max(deepest, int(levels.max())), int(levels[-1]), int(in_string[-1])
    return deepest


class TooDeep(InputError, ValueError):
    """JSON nested deeper than MAX_DEPTH: an InputError for the user, a ValueError for readers that already
    turn json.loads' ValueError into their own sentence."""


def loads(data: bytes | str, where: str = "the JSON text") -> Any:
    """json.loads that refuses nesting deeper than MAX_DEPTH (TooDeep) instead of ending in RecursionError.
    For JSON that is not a stored file (COCO, labelme, model metadata): the caller checks the fields itself."""
    depth = nesting_depth(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if depth > MAX_DEPTH:
        raise TooDeep(f"{where} nests {depth} levels deep, more than the {MAX_DEPTH} any file Maskwork reads "
                      "uses, so it was not read; check that it is the right file.")
    return json.loads(data)


def parse_json(data: bytes | str, where: str, fix: str) -> Any:
    """loads, with bad text reported in one sentence (the file, the place, what to do)."""
    try:
        return loads(data, where)
    except UnicodeDecodeError as exc:
        raise InputError(f"{where} is not UTF-8 text (byte {exc.start}); {fix}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{where} is damaged: it is not valid JSON ({exc.msg} at line {exc.lineno}, "
                         f"column {exc.colno}); {fix}") from exc
    except TooDeep:
        raise
    except (ValueError, RecursionError) as exc:  # numbers too long to convert and the like
        raise InputError(f"{where} cannot be read as JSON ({str(exc)[:120]}); {fix}") from exc


def _newer(doc: Any, schema: type[StoredFile]) -> object | None:
    """The version of a file written by a newer Maskwork, else None (a damaged version is the schema's job)."""
    supported = schema.SUPPORTED_VERSION
    if supported is None or not isinstance(doc, dict):
        return None
    version = doc.get("version")
    if isinstance(version, str) and re.fullmatch(r"\d{1,6}(\.\d{1,6})?", version.strip()):
        return version if float(version) > supported else None
    if isinstance(version, (int, float)) and not isinstance(version, bool) and version > supported:
        return version
    return None


def check(doc: Any, schema: type[StoredFile], *, where: str, fix: str | None = None) -> Any:
    """`doc` when it fits `schema`; InputError with one sentence when not."""
    fix = fix or schema.FIX
    newer = _newer(doc, schema)
    if newer is not None:
        raise InputError(f"{where} was written by a newer Maskwork (version {newer}); update Maskwork to open it.")
    try:
        schema.model_validate(doc)
    except ValidationError as exc:
        raise InputError(sentence(exc, where, fix)) from exc
    return doc


def load_json(source: str | Path | bytes, schema: type[StoredFile], *, where: str | None = None,
              fix: str | None = None) -> Any:
    """The document of a stored file (path, read bounded by the schema's LIMIT, or bytes already read),
    checked against `schema`. Raises InputError (damaged, newer, too deep, too big) or OSError (unreadable)."""
    fix = fix or schema.FIX
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, where = bytes(source), where or schema.WHAT
    else:
        where = where or str(source)
        data = bounded.read_bytes(source, limit=schema.LIMIT, what=schema.WHAT)
    return check(parse_json(data, where, fix), schema, where=where, fix=fix)
