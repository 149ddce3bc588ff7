"""Write an import into the project store all at once: a killed `import` leaves the old work or the new.

  1. every file the import changes (project.json, annotations/<image>.json) is written, atomically,
     under .maskwork/import-staging/<pid>-<ns>/files/;
  2. COMMIT (the list of those files) is written atomically: from here on the import counts as done;
  3. each staged file is moved over its target with os.replace, then the staging folder is removed.

Project.open calls finish_pending(): a staging folder with COMMIT is rolled forward (the remaining
moves are made), one without is rolled back (deleted); either way project.warnings says so. The
folder of a process that is still running (another window opening the project mid-import) is left
alone. The GUI keeps imports in memory until the user saves; this path is for the CLI.
"""
from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path, PurePosixPath

from maskwork.core.errors import InputError, ProjectError
from maskwork.core.io.atomic import fsync_dir, json_bytes, save_json_atomic, write_bytes_atomic
from maskwork.core.store.interrupts import interrupt_held
from maskwork.core.store.moved import check_same_store, remove_ghost, store_identity
from maskwork.core.store.schemas import ImportCommit, load_json

STAGING = "import-staging"
COMMIT = "COMMIT"
COMMIT_FORMAT = "maskwork-import-commit"
PROJECT_FILE = "project.json"  # same name as core.project.PROJECT_FILE (not imported: no cycle)
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


def commit(project, names: list[str] | None = None) -> list[str]:
    """Write project.json and the annotations of `names` (default: every dirty one) as one transaction.

    Returns the names written. A failure before the commit point raises ProjectError, removes the
    staging folder and keeps the work dirty in memory, as Project.save does."""
    with project._lock:
        todo = sorted(project.dirty) if names is None else list(names)
        identity = store_identity(project.store)  # before the lock check, which would re-create a moved folder
        project._check_writable_target()  # as Project.save: the store is a folder and the lock is ours
        project._check_classes(todo)  # as Project.save: no annotation names an undefined class
        generations = {n: project._generation.get(n, 0) for n in todo}
        files = {PROJECT_FILE: json_bytes(project._meta(), indent=1)}
        for name in todo:
            files[f"annotations/{name}.json"] = _document(project, name)
        stage = project.store / STAGING / f"{os.getpid()}-{time.time_ns()}"
        try:
            for rel, data in files.items():
                write_bytes_atomic(stage / "files" / rel, data)
                _pause()
            check_same_store(project.store, identity)  # renamed meanwhile: the stage went to a new empty folder
            save_json_atomic(stage / COMMIT, {"format": COMMIT_FORMAT, "files": sorted(files), "images": len(todo)})
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
            _mark_saved(project, generations)
        return todo


def _document(project, name: str) -> bytes:
    """The bytes Project.save would write for `name` (with the crash-journal mark where there is one)."""
    return project._snapshot(name, project.annotation(name))


def _mark_saved(project, generations: dict[str, int]) -> None:
    """The bookkeeping of Project.save for what the commit wrote (the same methods)."""
    project._saved_meta()
    for name, generation in generations.items():
        project._saved(name, generation)


def _roll_forward(stage: Path, store: Path, files: list[str]) -> None:
    """Move every staged file that is still there over its target (a file already moved is skipped)."""
    parents = set()
    for rel in files:
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


def _running_elsewhere(stage: Path) -> int | None:
    """The pid of a live process (not us) that owns this staging folder, else None."""
    try:
        pid = int(stage.name.split("-", 1)[0])
    except ValueError:
        return None
    if pid == os.getpid() or os.name == "nt":  # os.kill(pid, 0) would end the process on Windows
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except OSError:
        return pid  # exists, owned by another user
    return pid


def _inside(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return bool(parts) and not rel.startswith("/") and ".." not in parts


def _manifest(stage: Path) -> list[str] | None:
    """The files listed in COMMIT, or None when there is no COMMIT (the import never finished staging)."""
    path = stage / COMMIT
    if not path.exists():
        return None
    try:
        doc = load_json(path, ImportCommit)
    except InputError as exc:  # one sentence: the field and what to do
        raise ProjectError(str(exc)) from exc
    if not all(_inside(f) for f in doc["files"]):
        raise ProjectError(f"{path} is damaged (a listed file lies outside the store), so the interrupted import in "
                           f"{stage} can be neither finished nor undone safely; restore .maskwork from a backup or "
                           "delete that folder and import again.")
    return doc["files"]


def finish_pending(store: Path) -> list[str]:
    """Roll interrupted imports forward (COMMIT present) or back (absent); returns notes for the user."""
    root = Path(store) / STAGING
    if not root.is_dir():
        return []
    notes = []
    for stage in sorted(p for p in root.iterdir() if p.is_dir()):
        pid = _running_elsewhere(stage)
        if pid is not None:
            notes.append(f"an import by process {pid} into {store.parent} is still being written; "
                         "open the project again when it has finished to see its result.")
            continue
        files = _manifest(stage)
        if files is None:
            _remove(stage)
            notes.append(f"an import into {store.parent} was interrupted before it was complete and was undone: "
                         "the project holds the work from before that import; run the import again.")
            continue
        try:
            _roll_forward(stage, Path(store), files)
        except OSError as exc:
            raise ProjectError(f"an interrupted import into {store.parent} cannot be finished "
                               f"({exc.strerror or exc}); make {store} writable and open the project again.") from exc
        images = sum(f.startswith("annotations/") for f in files)
        notes.append(f"an import into {store.parent} was interrupted after it was complete and has now been "
                     f"finished ({images} image(s)); check the imported masks.")
    return notes
