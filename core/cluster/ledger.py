"""The progress log beside a COCO JSON or PNG folder written by `predict --engine ray`.

One framed, checksummed record per image done (core.store.edit_log: a process killed mid-append leaves a
torn last record, which is ignored), appended as results arrive and fsynced per batch. The final
output is assembled from it; a rerun reads it to skip images whose key still matches. Later records
of an image (by its path) replace earlier ones.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from maskwork.core.domain.errors import ProjectError
from maskwork.core.store.edit_log import frame, read_log

HEADER = {"log": "maskwork-predict-progress", "version": 1}


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: BinaryIO | None = None
        self.torn = False

    def read(self) -> dict[str, dict]:
        """image path -> its latest record (empty when there is no log yet)."""
        if not self.path.is_file():
            return {}
        records, self.torn = read_log(self.path)
        if records and records[0].get("log") == HEADER["log"]:
            records = records[1:]
        return {r["path"]: r for r in records if isinstance(r, dict) and "path" in r}

    def append(self, records: list[dict]) -> None:
        """Append and make durable (one fsync for the batch)."""
        if not records:
            return
        try:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if self.torn:
                    self._drop_torn_tail()
                self._file = open(self.path, "ab")
            f = self._file
            if f.tell() == 0:
                f.write(frame(HEADER))
            f.write(b"".join(frame(r) for r in records))
            f.flush()
            os.fsync(f.fileno())
        except OSError as exc:
            raise ProjectError(f"cannot write the progress log {self.path}: {exc.strerror or exc}. Free disk space "
                               "or make the folder writable, then rerun: finished images are skipped.") from exc

    def _drop_torn_tail(self) -> None:
        """Rewrite the intact records without the torn one, so new records are not hidden behind it
        (reading stops at the first damaged frame)."""
        from maskwork.core.store.atomic import write_bytes_atomic

        records, _ = read_log(self.path)
        write_bytes_atomic(self.path, b"".join(frame(r) for r in records))
        self.torn = False

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
