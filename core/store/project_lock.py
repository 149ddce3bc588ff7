"""One writer per project: the lock file `<folder>/.maskwork/lock`.

The lock is a small JSON file (pid, host, boot id, the holder's process start time, app, since)
created with O_CREAT|O_EXCL, so of two processes only one can create it. A lock left by a process
that is gone (same host: pid not running, pid reused by another process, or the machine rebooted)
is taken over; a lock from another host is reported and never broken here: only the user can tell
whether that machine is gone. Locks are re-entrant inside one process (two Project objects on the
same folder share it) and released on close and at exit; a SIGKILLed holder leaves a stale lock.

Taking over a stale lock: the taker first creates `lock.break-<key>` with O_EXCL, where the key
names that stale lock, so of two takers only one removes it; both then race on O_EXCL as usual.
"""
from __future__ import annotations

import atexit
import json
import os
import secrets
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from maskwork.core.domain.errors import InputError, ProjectError
from maskwork.core.store import bounded
from maskwork.core.store.names import LOCK_FILE
from maskwork.core.store.schemas import LockFile, load_json

WAIT_S = 2.0             # a lock being written or being taken over by another process settles within this
UNREADABLE_STALE_S = 10  # an empty/damaged lock older than this was left by a process killed while writing it


@dataclass(frozen=True)
class LockInfo:
    pid: int
    host: str
    app: str
    since: float                 # time.time() when the lock was taken
    proc_start: int | None = None  # /proc/<pid>/stat field 22 (Linux): detects a reused pid
    boot_id: str | None = None     # a reboot frees every lock of this host
    token: str = ""                # unique per lock: names it for release and takeover

    def describe(self) -> str:
        where = "this computer" if self.host == socket.gethostname() else f"computer {self.host!r}"
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        return f"{self.app} (pid {self.pid} on {where}, since {since})"


class ProjectLockedError(ProjectError):
    """Another live process (or one on another host) holds the project's lock."""

    def __init__(self, message: str, holder: LockInfo) -> None:
        super().__init__(message)
        self.holder = holder


def _read_text(path: Path) -> str | None:
    try:
        return bounded.read_text(path, limit=bounded.LOCK_FILE, what="lock file")
    except FileNotFoundError:
        return None
    except OSError:
        return ""


def _boot_id() -> str | None:
    return (_read_text(Path("/proc/sys/kernel/random/boot_id")) or "").strip() or None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of `pid` (Linux), None where /proc is not available."""
    text = _read_text(Path(f"/proc/{pid}/stat"))
    if not text:
        return None
    try:  # the command name (field 2) may hold spaces and parentheses: split after its last ')'
        fields = text[text.rindex(")") + 2:].split()
        return fields[0], int(fields[19])  # fields 3 and 22 of proc(5)
    except (ValueError, IndexError):
        return None


def _proc_start(pid: int) -> int | None:
    stat = _proc_stat(pid)
    return None if stat is None else stat[1]


def _pid_running(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process on Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _my_info(app: str) -> LockInfo:
    pid = os.getpid()
    return LockInfo(pid=pid, host=socket.gethostname(), app=app, since=time.time(),
                    proc_start=_proc_start(pid), boot_id=_boot_id(), token=secrets.token_hex(8))


def _parse(text: str | None) -> LockInfo | None:
    try:  # damaged (or half written): None, and the callers say so with the lock's path
        doc = load_json((text or "").encode(), LockFile)
    except InputError:
        return None
    return LockInfo(pid=doc["pid"], host=doc["host"], app=doc.get("app", "a program"),
                    since=float(doc.get("since", 0)), proc_start=doc.get("proc_start"),
                    boot_id=doc.get("boot_id"), token=doc.get("token", ""))


def is_alive(info: LockInfo) -> bool | None:
    """True/False for a holder on this host; None when it runs on another host (cannot tell)."""
    if info.host != socket.gethostname():
        return None
    if info.boot_id and _boot_id() and info.boot_id != _boot_id():
        return False
    if not _pid_running(info.pid):
        return False
    stat = _proc_stat(info.pid)
    if stat is not None:
        if stat[0] in ("Z", "X"):
            return False  # killed, not yet reaped by its parent: it writes nothing any more
        if info.proc_start is not None and stat[1] != info.proc_start:
            return False  # the pid was reused by another process
    return True


def this_process(app: str) -> LockInfo:
    """This process as a lock records its holder (core.store.import_txn records an import's owner alike)."""
    return _my_info(app)


def read_holder(path: Path) -> LockInfo | None:
    """The holder recorded in a lock-like file (the lock, an import's OWNER); None when absent or damaged."""
    return _parse(_read_text(path))


def _is_mine(info: LockInfo) -> bool:
    return is_alive(info) is True and info.pid == os.getpid()


# ---- locks held by this process -------------------------------------------------------------
_held: dict[Path, list] = {}   # lock path -> [LockInfo, count]
_held_guard = threading.Lock()
_acquire_guard = threading.Lock()  # one acquire at a time in this process: a file with our pid is never ours-in-flight


class ProjectLock:
    """A handle on a held lock; `release()` once (further calls do nothing)."""

    def __init__(self, path: Path, info: LockInfo) -> None:
        self.path, self.info = path, info
        self._released = False

    def release(self) -> None:
        with _held_guard:
            if self._released:
                return
            self._released = True
            entry = _held.get(self.path)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del _held[self.path]
        _remove_own(self.path, self.info)

    def verify(self) -> None:
        """Before a write: the lock file is still ours (re-created if someone deleted it by hand)."""
        info = _parse(_read_text(self.path))
        if info is not None and info.token == self.info.token:
            return
        if info is None and _create(self.path, self.info):
            return
        holder = info or LockInfo(pid=0, host="?", app="another program", since=time.time())
        raise ProjectLockedError(f"the lock of {self.path.parent.parent} was taken by {holder.describe()} while "
                                 "this program had it open; nothing was written here: save to another folder "
                                 "or close the other program and open the project again.", holder)


def _remove_own(path: Path, info: LockInfo) -> None:
    """Delete the lock file if it is still this lock, then the store folder if the lock was all it held."""
    if os.getpid() != info.pid:
        return  # a forked child never releases its parent's lock
    current = _parse(_read_text(path))
    if current is None or current.token != info.token:
        return
    try:
        path.unlink()
        path.parent.rmdir()  # only succeeds when nothing else was written (a plain image folder)
    except OSError:
        pass


@atexit.register
def release_all() -> None:
    with _held_guard:
        entries = list(_held.items())
        _held.clear()
    for path, (info, _count) in entries:
        _remove_own(path, info)


# ---- acquiring ------------------------------------------------------------------------------
def _create(path: Path, info: LockInfo) -> bool:
    """Create the lock file atomically; False when it exists. OSError when the folder cannot be written."""
    for _ in range(3):
        try:
            os.mkdir(path.parent)
        except FileExistsError:
            pass
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        except FileNotFoundError:
            continue  # a releasing process removed the empty store folder just now: make it again
        try:
            os.write(fd, json.dumps(asdict(info)).encode())
            os.fsync(fd)
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)  # disk full: leave no empty lock behind
            raise
        os.close(fd)
        return True
    return False


def _identity(path: Path, info: LockInfo | None) -> str | None:
    """A key naming this very lock file (its token; for a damaged one its inode and mtime)."""
    if info is not None:
        return info.token or f"pid{info.pid}-{info.since}"
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return f"{st.st_ino}-{st.st_mtime_ns}"


def _stale_key(path: Path, info: LockInfo | None) -> str | None:
    """The identity of a stale lock, or None when the lock is live or too young to judge."""
    if info is not None:
        # our own pid but not in _held (acquire holds _acquire_guard): left by an earlier process
        mine_unheld = info.pid == os.getpid() and info.host == socket.gethostname()
        return _identity(path, info) if mine_unheld or is_alive(info) is False else None
    try:
        if time.time() - path.stat().st_mtime < UNREADABLE_STALE_S:
            return None  # probably being written right now
    except FileNotFoundError:
        return None
    return _identity(path, None)


def _take_over(path: Path, key: str) -> None:
    """Remove the stale lock `key`. Only the process that creates the breaker may remove it, and it
    checks under the breaker that the file is still that lock: a taker that judged it stale long
    ago can never remove the fresh lock of the taker that won."""
    breaker = path.with_name(f"{LOCK_FILE}.break-{key}")
    try:
        os.close(os.open(breaker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return  # another process is taking it over: look again
    except OSError:
        return
    try:
        if _identity(path, _parse(_read_text(path))) == key:
            path.unlink(missing_ok=True)
    finally:
        breaker.unlink(missing_ok=True)


def locked_message(root: Path, path: Path, holder: LockInfo) -> str:
    if is_alive(holder) is None:
        return (f"{root} is open for writing by {holder.describe()}, and Maskwork cannot check from here whether "
                f"it still runs; close it there, or if that computer is really gone, delete {path} and try again.")
    return f"{root} is open for writing by {holder.describe()}; close the project there and try again."


def acquire(store: Path, app: str) -> ProjectLock | None:
    """Take the lock of the store folder `store` (`<folder>/.maskwork`) for `app`.

    Returns None when the folder cannot be written at all (a read-only image folder: nothing can be
    saved there either). Raises ProjectLockedError when another live process holds the lock."""
    with _acquire_guard:
        return _acquire(Path(store) / LOCK_FILE, app)


def _acquire(path: Path, app: str) -> ProjectLock | None:
    with _held_guard:
        entry = _held.get(path)
        if entry is not None:
            entry[1] += 1
            return ProjectLock(path, entry[0])
    info = _my_info(app)
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            if _create(path, info):
                with _held_guard:
                    _held[path] = [info, 1]
                return ProjectLock(path, info)
        except OSError:
            return None  # read-only or missing folder: the save will say what to do
        text = _read_text(path)
        holder = _parse(text)
        key = None if text is None else _stale_key(path, holder)  # None text: released just now
        if key is not None:
            _take_over(path, key)
        elif holder is not None:
            raise ProjectLockedError(locked_message(path.parent.parent, path, holder), holder)
        if time.monotonic() > deadline:
            raise ProjectError(f"the lock file {path} is damaged or another program keeps taking it over; "
                               "if no other Maskwork has this project open, delete it and try again.")
        time.sleep(0.005 if key is not None else 0.05)


def other_holder(store: Path) -> LockInfo | None:
    """The live (or foreign-host) holder of the store's lock when it is not this process, else None."""
    info = _parse(_read_text(Path(store) / LOCK_FILE))
    if info is None or is_alive(info) is False or _is_mine(info):
        return None
    return info


def refuse_if_held(store: Path) -> None:
    """Raise ProjectLockedError when another live program (or another host) holds the store's lock."""
    holder = other_holder(store)
    if holder is not None:
        path = Path(store) / LOCK_FILE
        raise ProjectLockedError(locked_message(path.parent.parent, path, holder), holder)
