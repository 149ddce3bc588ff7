"""The crash journal: every completed edit on disk within about a second, off the calling thread.

One append-only log per image under `.maskwork/autosave/edits/<image>.log` (core.store.edit_log).
`record()` (GUI thread) captures what the edit changed (core.store.journal.changes) and queues it; a
writer thread encodes, appends and fsyncs in batches, so a burst of strokes costs one fsync.

Generations: a log starts with a header carrying a random id and every record has a sequence
number. A snapshot of the image stores `mark(name)` = {"log", "seq"}; after a save (or an autosave
snapshot once the log is long) `rotate(name)` drops the log and the next edit starts a new one with
a full record. On open, a log is replayed unless the newest snapshot already holds it (same id, seq
at least the log's last), which covers a kill between writing the snapshot and dropping the log.
See docs/adr/0007.
"""
from __future__ import annotations

import os
import queue
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO

from maskwork.core.domain.errors import InputError, ProjectError
from maskwork.core.store.atomic import fsync_dir, write_bytes_atomic
from maskwork.core.store.edit_log import frame, read_log
from maskwork.core.store.journal.changes import Seen, capture, encode
from maskwork.core.store.schemas import LogHeader, check

LOG_SUFFIX = ".log"
MAX_OPEN = 16          # log files kept open by the writer (one per recently edited image)
FLUSH_TIMEOUT_S = 10.0
COMPACT_BYTES = 8 << 20  # a log longer than this restarts at the next snapshot


class EditJournal:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.error: str | None = None          # the last write failure, for the user to see
        self._seen: dict[str, Seen] = {}
        self._logs: dict[str, list] = {}       # name -> [log id, last seq queued]
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def log_path(self, name: str) -> Path:
        return self.folder / (name + LOG_SUFFIX)

    # ---- calling thread -------------------------------------------------------------------
    def adopt(self, name: str, log_id: str, last_seq: int) -> None:
        """Continue a log found on disk (after its recovery): new records append to it."""
        self._logs[name] = [log_id, last_seq]
        self._seen.pop(name, None)  # the next record is full

    def record(self, name: str, ann, bbox=None) -> bool:
        """Queue what changed in `ann` since the last record of `name`; False when nothing did."""
        change, self._seen[name] = capture(ann, bbox, self._seen.get(name))
        if change is None:
            return False
        log = self._logs.get(name)
        if log is None:
            log = self._logs[name] = [uuid.uuid4().hex, 0]
        log[1] += 1
        self._put(("append", name, log[0], log[1], change))
        return True

    def mark(self, name: str) -> dict | None:
        """What a snapshot of `name` written now contains of the log (None: no log)."""
        log = self._logs.get(name)
        return None if log is None else {"log": log[0], "seq": log[1]}

    def rotate(self, name: str) -> None:
        """A snapshot now holds everything: drop the log; the next edit starts a new one."""
        self._seen.pop(name, None)
        if self._logs.pop(name, None) is not None or self.log_path(name).exists():
            self._put(("drop", name))

    def compact(self, name: str) -> None:
        """After a snapshot: rotate a log that grew long (a new log starts with a full record, which
        costs the whole layer once, so short logs are simply continued). The size is what the
        writer has put on disk so far; a log still queued is compacted at a later snapshot."""
        try:
            size = self.log_path(name).stat().st_size
        except OSError:
            return
        if size > COMPACT_BYTES:
            self.rotate(name)

    def discard(self) -> None:
        """Forget every log (the user discarded the unsaved work)."""
        self._seen.clear()
        self._logs.clear()
        self._put(("drop_all",))

    def write_file(self, path: Path, data: bytes) -> None:
        """An atomic small-file write in order with the logs (the class-list journal)."""
        self._put(("file", path, data))

    def flush(self, timeout: float = FLUSH_TIMEOUT_S) -> bool:
        """Wait until everything queued is on disk; False if the writer did not finish in time."""
        if self._thread is None:
            return True
        done = threading.Event()
        self._put(("flush", done))
        return done.wait(timeout)

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(("stop",))
            thread.join(FLUSH_TIMEOUT_S)

    def _put(self, job: tuple) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="maskwork-journal", daemon=True)
                self._thread.start()
        self._queue.put(job)

    # ---- writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        handles: OrderedDict[str, tuple[str, BinaryIO]] = OrderedDict()
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            touched: dict[int, BinaryIO] = {}
            waiting, stop = [], False
            for job in batch:
                kind = job[0]
                if kind == "flush":
                    waiting.append(job[1])
                    continue
                if kind == "stop":
                    stop = True
                    continue
                try:
                    self._do(job, handles, touched)
                except (OSError, ValueError, ProjectError) as exc:
                    self.error = (f"the crash journal cannot be written ({exc}); edits since the last save "
                                  "are only in memory: save (Ctrl+S) or free disk space")
            for fh in touched.values():
                try:
                    fh.flush()
                    os.fsync(fh.fileno())
                except (OSError, ValueError) as exc:
                    self.error = f"the crash journal cannot be written ({exc}); save (Ctrl+S) to be safe"
            for event in waiting:
                event.set()
            if stop:
                for _, fh in handles.values():
                    fh.close()
                return

    def _do(self, job: tuple, handles: OrderedDict, touched: dict) -> None:
        kind = job[0]
        if kind == "append":
            _, name, log_id, seq, change = job
            fh = self._handle(name, log_id, handles, touched)
            fh.write(frame({"seq": seq, **encode(change)}))
            touched[id(fh)] = fh
        elif kind == "drop":
            self._close(job[1], handles, touched)
            self.log_path(job[1]).unlink(missing_ok=True)
        elif kind == "drop_all":
            for name in list(handles):
                self._close(name, handles, touched)
            for path in self.folder.rglob("*" + LOG_SUFFIX) if self.folder.is_dir() else ():
                path.unlink(missing_ok=True)
        elif kind == "file":
            write_bytes_atomic(job[1], job[2])

    def _handle(self, name: str, log_id: str, handles: OrderedDict, touched: dict):
        held = handles.get(name)
        if held is not None and held[0] == log_id:
            handles.move_to_end(name)
            return held[1]
        self._close(name, handles, touched)
        path = self.log_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists() or path.stat().st_size == 0
        fh = open(path, "ab")
        if fresh:
            fh.write(frame({"log": log_id}))
            fsync_dir(path.parent)  # the new file's name must survive too
        handles[name] = (log_id, fh)
        while len(handles) > MAX_OPEN:
            old, (_, old_fh) = handles.popitem(last=False)
            touched.pop(id(old_fh), None)
            old_fh.flush()
            os.fsync(old_fh.fileno())
            old_fh.close()
        return fh

    @staticmethod
    def _close(name: str, handles: OrderedDict, touched: dict) -> None:
        held = handles.pop(name, None)
        if held is not None:
            touched.pop(id(held[1]), None)
            held[1].close()


def read_logs(folder: str | Path) -> dict[str, tuple[str | None, list[dict], bool]]:
    """Every log under `folder`: image name -> (log id, records after the header, torn tail)."""
    folder = Path(folder)
    logs: dict[str, tuple[str | None, list[dict], bool]] = {}
    if not folder.is_dir():
        return logs
    for path in sorted(folder.rglob("*" + LOG_SUFFIX)):
        name = path.relative_to(folder).as_posix()[: -len(LOG_SUFFIX)]
        records, torn = read_log(path)
        try:  # no header (or a damaged one): the records are not replayed, the log is rotated
            log_id = check(records[0], LogHeader, where=str(path))["log"] if records else None
        except InputError:
            log_id = None
        logs[name] = (log_id, records[1:] if log_id else records, torn)
    return logs
