"""Write an import into the project store all at once: a killed `import` leaves the old work or the new.

  1. OWNER (who imports: pid, host, process start, boot id, as core.store.project_lock records a lock holder)
     is written under .maskwork/import-staging/<pid>-<ns>/, then every file the import changes
     (project.json, annotations/<image>.json) is written, atomically, under its files/;
  2. COMMIT (the list of those files, plus the save stamp of the project.json it builds on and of the one
     it brings) is written atomically: from here on the import counts as done;
  3. each staged file is moved over its target with os.replace, project.json last, then the staging
     folder is removed.

Project.open calls finish_pending(): a staging folder with COMMIT is rolled forward (the remaining
moves are made) when the project.json on disk is still the one it was built on (or already its own),
and dropped when a later save or import has replaced it: an older import never lands over newer work.
One without COMMIT is rolled back (deleted). Either way project.warnings says so. A staging folder
whose owner still runs (the same process: pid, start time and boot id all match) is a live import: the
open is refused with a clear sentence, as it is for anyone who may not settle it (refuse_unfinished),
so no command ever reads a half-applied mix. The GUI keeps imports in memory until the user saves;
this path is for the CLI.
"""
from __future__ import annotations

import os
import shutil
import signal
import time
from contextlib import AbstractContextManager
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from maskwork.core.domain.errors import InputError, ProjectError
from maskwork.core.store import project_lock
from maskwork.core.store.atomic import fsync_dir, json_bytes, save_json_atomic, write_bytes_atomic
from maskwork.core.store.interrupts import interrupt_held
from maskwork.core.store.moved import check_same_store, remove_ghost, store_identity
from maskwork.core.store.names import ANNOTATIONS_DIR, IMPORT_STAGING_DIR, PROJECT_FILE
from maskwork.core.store.schemas import ImportCommit, ProjectFile, load_json

COMMIT = "COMMIT"
COMMIT_FORMAT = "maskwork-import-commit"
OWNER = "OWNER"  # the importing process, in the lock file's format (core.store.project_lock.LockInfo)
OWNER_APP = "a Maskwork import"
STARTING_S = 10  # a staging folder without OWNER younger than this may be writing it right now
# tests only: pause this many seconds after each step (so timed kills land mid-commit), or SIGKILL
# this process after step N (1 = first staged file; then COMMIT; then each move)
TEST_DELAY_ENV = "MASKWORK_TEST_IMPORT_DELAY"
TEST_KILL_ENV = "MASKWORK_TEST_IMPORT_KILL_AT"
_steps = 0


def _pause() -> None:
    global _steps
    _steps += 1
    if os.environ.get(TEST_KILL_ENV) == str(_steps):
        os.kill(os.getpid(), signal.SIGKILL)
    delay = os.environ.get(TEST_DELAY_ENV)
    if delay:
        time.sleep(float(delay))


class CommittingProject(Protocol):
    """What commit() uses of a Project (core.store.project): nothing private."""
    store: Path
    root: Path

    @property
    def lock(self) -> AbstractContextManager[Any]: ...  # the project's re-entrant lock
    @property
    def dirty(self) -> list[str]: ...
    def check_can_save(self, names: list[str]) -> None: ...
    def edit_generation(self, name: str) -> int: ...
    def meta_document(self) -> dict: ...
    def annotation_bytes(self, name: str) -> bytes: ...
    def note_saved(self, generations: dict[str, int]) -> None: ...


def commit(project: CommittingProject, names: list[str] | None = None) -> list[str]:
    """Write project.json and the annotations of `names` (default: every dirty one) as one transaction.

    Returns the names written. A failure before the commit point raises ProjectError, removes the
    staging folder and keeps the work dirty in memory, as Project.save does."""
    with project.lock:
        todo = sorted(project.dirty) if names is None else list(names)
        identity = store_identity(project.store)  # before the lock check, which would re-create a moved folder
        project.check_can_save(todo)  # as Project.save: a store folder, our lock, no undefined class
        generations = {n: project.edit_generation(n) for n in todo}
        meta = project.meta_document()
        files = {PROJECT_FILE: json_bytes(meta, indent=1)}
        for name in todo:  # the bytes Project.save would write (with the crash-journal mark where there is one)
            files[f"{ANNOTATIONS_DIR}/{name}.json"] = project.annotation_bytes(name)
        stage = project.store / IMPORT_STAGING_DIR / f"{os.getpid()}-{time.time_ns()}"
        record = {"format": COMMIT_FORMAT, "files": sorted(files), "images": len(todo),
                  "base_saved_ns": _save_stamp(project.store), "saved_ns": meta["saved_ns"]}
        try:
            save_json_atomic(stage / OWNER, asdict(project_lock.this_process(OWNER_APP)))
            for rel, data in files.items():
                write_bytes_atomic(stage / "files" / rel, data)
                _pause()
            check_same_store(project.store, identity)  # renamed meanwhile: the stage went to a new empty folder
            save_json_atomic(stage / COMMIT, record)
        except ProjectError:
            _remove(stage)
            remove_ghost(project.store, identity)
            raise
        except KeyboardInterrupt:
            _remove(stage)
            raise KeyboardInterrupt("nothing was imported: the project holds its work from before") from None
        with interrupt_held(f"the import was already complete ({len(todo)} images) and is kept"):
            _pause()
            try:
                _roll_forward(stage, project.store, sorted(files))
            except OSError as exc:
                raise ProjectError(f"the import into {project.root} was written but could not be moved into place "
                                   f"({exc.strerror or exc}); make {project.store} writable and open the project "
                                   "again: it will be finished then.") from exc
            project.note_saved(generations)  # the bookkeeping of Project.save for what the commit wrote
        return todo


def _save_stamp(store: Path) -> int | None:
    """saved_ns of the store's project.json (every save and import writes a new one); None when there is none."""
    path = Path(store) / PROJECT_FILE
    if not path.exists():
        return None
    try:
        stamp = load_json(path, ProjectFile).get("saved_ns")
        return int(stamp)
    except (OSError, InputError, ValueError, AttributeError, TypeError) as exc:
        raise ProjectError(f"{path} cannot be read ({exc}), so Maskwork cannot tell whether the interrupted import "
                           f"in {path.parent / IMPORT_STAGING_DIR} is newer than the saved work; restore project.json "
                           "from a backup and open the project again.") from exc


def _roll_forward(stage: Path, store: Path, files: list[str]) -> None:
    """Move every staged file that is still there over its target (a file already moved is skipped).

    project.json goes last: until it has moved, the save stamp on disk is the one the import was built on."""
    parents = set()
    for rel in sorted(files, key=lambda f: f == PROJECT_FILE):
        src, dst = stage / "files" / rel, store / rel
        if src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
            parents.add(dst.parent)
            _pause()
    for folder in parents:
        fsync_dir(folder)  # the moves must survive a power cut before the staging folder goes
    _remove(stage)


def _remove(stage: Path) -> None:
    shutil.rmtree(stage, ignore_errors=True)
    try:
        stage.parent.rmdir()  # import-staging/ goes too unless another import is under way
    except OSError:
        fsync_dir(stage.parent)


def _stage_ns(stage: Path) -> int:
    """When the staging folder was made (the <ns> of its name); 0 when the name is not ours."""
    try:
        return int(stage.name.split("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def _pid_runs(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would end the process on Windows
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by another user
    return True


def _live_owner(stage: Path) -> str | None:
    """Who is writing this staging folder right now (another process, or another computer that cannot be
    checked from here), else None: its owner is gone (a pid reused by another program or a reboot counts as
    gone, as for the project lock) or it is this very process."""
    owner = project_lock.read_holder(stage / OWNER)
    if owner is not None:
        alive = project_lock.is_alive(owner)
        if alive is False or (alive and owner.pid == os.getpid()):
            return None
        if alive is None:  # another computer: only the user can tell whether it is gone
            return (f"{owner.describe()} (if that computer is gone for good, delete {stage / OWNER}: the next open "
                    "then finishes or undoes that import)")
        return owner.describe()
    try:  # no OWNER: killed before it was written, or staged by an older Maskwork
        pid = int(stage.name.split("-", 1)[0])
    except ValueError:
        return None
    starting = time.time_ns() - _stage_ns(stage) < STARTING_S * 1_000_000_000
    return f"process {pid}" if starting and pid != os.getpid() and _pid_runs(pid) else None


def _inside(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return bool(parts) and not rel.startswith("/") and ".." not in parts


def _manifest(stage: Path) -> dict | None:
    """The COMMIT record (files, save stamps), or None when there is no COMMIT (the import never finished
    staging)."""
    path = stage / COMMIT
    if not path.exists():
        return None
    try:
        doc = load_json(path, ImportCommit)
    except InputError as exc:  # one sentence: the field and what to do
        raise ProjectError(str(exc)) from exc
    try:
        if not all(_inside(f) for f in doc["files"]):
            raise ValueError("a listed file lies outside the store")
        return doc
    except ValueError as exc:
        raise ProjectError(f"{path} is damaged ({exc}), so the interrupted import in {stage} can be neither "
                           "finished nor undone safely; restore .maskwork from a backup or delete that folder "
                           "and import again.") from exc


def _still_current(store: Path, record: dict) -> bool:
    """Nothing was saved over the project since this import was staged: project.json on disk is the one it
    was built on, or its own (moved already). A COMMIT of an older Maskwork has no stamps: applied as then."""
    if "base_saved_ns" not in record:
        return True
    return _save_stamp(store) in (record["base_saved_ns"], record.get("saved_ns"))


def _stages(store: Path) -> list[Path]:
    """The staging folders, newest first: of two left behind, the later import is the one to finish."""
    root = Path(store) / IMPORT_STAGING_DIR
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir()), key=_stage_ns, reverse=True)


def _in_progress(store: Path, owner: str) -> ProjectError:
    return ProjectError(f"an import into {store.parent} by {owner} is being written right now, so the project's "
                        "files are not complete; wait until that import has finished, then run the command or "
                        "open the project again.")


def refuse_unfinished(store: Path) -> None:
    """For an open that may not settle leftovers (another program holds the project, or read-only): refuse
    while an import is being written or waits to be finished, since its files may be a mix of old and new."""
    for stage in _stages(store):
        owner = _live_owner(stage)
        if owner is not None:
            raise _in_progress(store, owner)
        if (stage / COMMIT).exists():
            raise ProjectError(f"an import into {store.parent} was interrupted and is not finished yet, so its "
                               "files are a mix of the old work and the new; open the project for writing once "
                               "(close any other Maskwork that has it open) to finish it, then run the command "
                               "again.")


def finish_pending(store: Path) -> list[str]:
    """Roll interrupted imports forward (COMMIT present) or back (absent); returns notes for the user.

    Raises ProjectError while an import is being written by a live process (see _live_owner)."""
    notes = []
    for stage in _stages(store):
        owner = _live_owner(stage)
        if owner is not None:
            raise _in_progress(store, owner)
        record = _manifest(stage)
        if record is None:
            _remove(stage)
            notes.append(f"an import into {store.parent} was interrupted before it was complete and was undone: "
                         "the project holds the work from before that import; run the import again.")
            continue
        files = record["files"]
        images = sum(f.startswith(f"{ANNOTATIONS_DIR}/") for f in files)
        if not _still_current(Path(store), record):
            _remove(stage)
            notes.append(f"an import into {store.parent} ({images} image(s)) was interrupted, and the project "
                         "was saved or imported into again since; that older import was not applied over the "
                         "newer work. Run it again if you still want it.")
            continue
        try:
            _roll_forward(stage, Path(store), files)
        except OSError as exc:
            raise ProjectError(f"an interrupted import into {store.parent} cannot be finished "
                               f"({exc.strerror or exc}); make {store} writable and open the project again.") from exc
        notes.append(f"an import into {store.parent} was interrupted after it was complete and has now been "
                     f"finished ({images} image(s)); check the imported masks.")
    return notes
