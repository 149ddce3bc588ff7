"""A folder of outputs written all or nothing: staged in a hidden folder inside it, then moved into place.

    with StagedFolder(out) as staged:
        write_label_png(staged.path(out / "a.png"), ...)   # lands in out/.maskwork-partial-<pid>-<ns>/a.png
    # here every staged file has been moved over its target (os.replace, same filesystem)

An error, a cancel or Ctrl-C before the end removes the staging folder (and `out` itself when this
created it and it is still empty): the targets were not touched. A Ctrl-C raises
KeyboardInterrupt("nothing was written to OUT"). The moves at the end hold Ctrl-C back until they are
done (core.store.interrupts). The staging folder is hidden, so a project never lists its files as images;
one left by a killed process is removed by the next staged write into the same folder.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from maskwork.core.domain.errors import ProjectError
from maskwork.core.store.atomic import fsync_dir
from maskwork.core.store.interrupts import interrupt_held

PREFIX = ".maskwork-partial-"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale(out: Path) -> None:
    """Staging folders of processes that were killed mid-write (never one of a live process)."""
    if not out.is_dir() or os.name == "nt":
        return
    for entry in out.iterdir():
        if entry.name.startswith(PREFIX) and entry.is_dir():
            pid = entry.name[len(PREFIX):].split("-")[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(entry, ignore_errors=True)


class StagedFolder:
    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.stage = self.out / f"{PREFIX}{os.getpid()}-{time.time_ns()}"  # two exports of one process apart
        self._created_out = False
        self.moved = 0

    def path(self, target: str | Path) -> Path:
        """Where to write the file that is to end up at `target` (a path inside `out`)."""
        rel = Path(target).relative_to(self.out)
        staged = self.stage / rel
        staged.parent.mkdir(parents=True, exist_ok=True)
        return staged

    def __enter__(self) -> "StagedFolder":
        self._created_out = not self.out.exists()
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            remove_stale(self.out)
            shutil.rmtree(self.stage, ignore_errors=True)
            self.stage.mkdir()
        except OSError as exc:
            raise ProjectError(f"cannot write into {self.out}: {exc.strerror or exc}; make the folder writable "
                               "or pick another one.") from exc
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self._commit()
            return
        self._discard()
        if exc_type is KeyboardInterrupt and not str(exc):
            raise KeyboardInterrupt(f"nothing was written to {self.out}") from exc

    def _staged_files(self) -> list[Path]:
        return sorted(p for p in self.stage.rglob("*") if p.is_file())

    def _commit(self) -> None:
        files = self._staged_files()
        with interrupt_held(f"it came after the writing: all {len(files)} files are in {self.out}"):
            try:
                parents = set()
                for src in files:
                    dst = self.out / src.relative_to(self.stage)
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(src, dst)
                    parents.add(dst.parent)
                    self.moved += 1
                for folder in parents:
                    fsync_dir(folder)
            except OSError as exc:
                raise ProjectError(f"only {self.moved} of {len(files)} files were moved into {self.out} "
                                   f"({exc.strerror or exc}); the others are in {self.stage}. Free the folder "
                                   "and export again.") from exc
            shutil.rmtree(self.stage, ignore_errors=True)

    def _discard(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)
        if self._created_out:
            try:
                self.out.rmdir()
            except OSError:
                pass
