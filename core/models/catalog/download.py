"""Download one file with progress, cancel, resume and a sha256 check, without torch (the SAM files and
torchvision's weights both come through here; core.models.catalog.weights re-exports it)."""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

from maskwork.core.domain.errors import Cancelled, ModelError
from maskwork.core.domain.progress import CancelToken, ProgressFn, check, report
from maskwork.core.store import bounded

HASH_RE = re.compile(r"-([a-f0-9]{6,})\.")  # torchvision file names end in a sha256 prefix
CHUNK = 1 << 20
# A server that streams without end (no Content-Length, or more than it declared) is cut off here: past the
# declared size plus this margin, or past max_bytes, or past DEFAULT_MAX_BYTES when nothing was declared.
MARGIN = 1 << 20
DEFAULT_MAX_BYTES = 8 << 30  # the largest model file Maskwork knows is well under 1 GB


def download_file(url: str, dest: Path, progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                  check_hash: bool = True, timeout: float = 30.0, sha256: str | None = None,
                  resume: bool = False, max_bytes: int | None = None) -> Path:
    """Download `url` to `dest` through a `.partial` file; verify the sha256 prefix in the name (or the full
    `sha256` given); cancellable. With `resume`, a failed or cancelled download keeps its `.partial` file and
    the next call continues it with an HTTP Range request (a server that ignores Range sends it all again).
    The download stops, and the partial file goes, past the declared Content-Length + MARGIN or past
    `max_bytes` (the caller's expected size with room to spare; DEFAULT_MAX_BYTES when None)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    where = f"Put {dest.name} into {dest.parent} by hand (downloaded from {url} on a connected machine)"
    sha = hashlib.sha256()
    start = partial.stat().st_size if resume and partial.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            if start and getattr(resp, "status", None) != 206:
                start = 0  # the server sends the whole file: start again
            if start:
                with bounded.open_binary(partial, limit=bounded.MODEL_FILE, what="partial download") as old:
                    for block in iter(lambda: old.read(CHUNK), b""):
                        sha.update(block)
            length = int(resp.headers.get("Content-Length") or 0)
            total = start + length if length else 0
            done = start
            cap = min(total + MARGIN if total else DEFAULT_MAX_BYTES, max_bytes or DEFAULT_MAX_BYTES)
            with open(partial, "ab" if start else "wb") as out:
                while True:
                    check(cancel)
                    chunk = resp.read(CHUNK)
                    if not chunk:
                        break
                    if done + len(chunk) > cap:
                        partial.unlink(missing_ok=True)
                        raise ModelError(f"the server sent more than {cap >> 20} MB for {dest.name}, more than "
                                         f"{'it declared' if total else 'the file can be'}; the download was stopped "
                                         f"and deleted. {where}.")
                    out.write(chunk)
                    sha.update(chunk)
                    done += len(chunk)
                    report(progress, done, max(total, done), f"downloading {dest.name}")
            if total and done < total:
                raise OSError(f"the connection closed after {done} of {total} bytes")
    except Cancelled:
        if not resume:
            partial.unlink(missing_ok=True)
        raise
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # the partial file is complete or longer than the file: start again
            partial.unlink(missing_ok=True)
            return download_file(url, dest, progress, cancel, check_hash, timeout, sha256, resume)
        partial.unlink(missing_ok=True)
        raise ModelError(f"cannot download {dest.name} ({exc.code} {exc.reason}). {where}, then try again.") from exc
    except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as exc:
        if not resume:
            partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        again = "try again (the download continues where it stopped)" if resume else "try again"
        raise ModelError(f"cannot download {dest.name} ({reason}). {where}, or {again}.") from exc
    match = HASH_RE.search(dest.name)
    digest = sha.hexdigest()
    bad = (sha256 is not None and digest != sha256.lower()) or (
        sha256 is None and check_hash and match and not digest.startswith(match.group(1)))
    if bad:
        partial.unlink(missing_ok=True)
        raise ModelError(f"the download of {dest.name} is damaged (checksum differs). Try again, or {where[0].lower()}"
                         f"{where[1:]}.")
    os.replace(partial, dest)
    return dest
