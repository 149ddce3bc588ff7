"""A project: a folder of images plus the `.maskwork/` store that holds the work on them.

  <folder>/.maskwork/project.json             version, task, classes, settings (and image_root when
                                             the store lives apart from read-only images)
  <folder>/.maskwork/annotations/<image>.json one file per image (core.store.annotation_json)
  <folder>/.maskwork/autosave/...             snapshots of unsaved work, recovered on the next open
  <folder>/.maskwork/autosave/edits/<image>.log crash journal: every completed edit, replayed on open

Nothing is read before it is needed: opening a 5,000-image project lists file names only; an
annotation is read (and an image size taken from its header) on first access. Every write is atomic
(core.store.atomic); a failed save raises ProjectError and keeps the work in memory. See
docs/adr/0001-project-store.md.
"""
from __future__ import annotations

import functools
import shutil
import threading
import time
import weakref
from collections import OrderedDict
from pathlib import Path

import numpy as np

from maskwork.core.domain.annotation import ClassList, ImageAnnotation
from maskwork.core.domain.errors import InputError, ProjectError
from maskwork.core.store import autosave, project_lock, recovery
from maskwork.core.store.annotation_json import annotation_from_dict, annotation_to_dict
from maskwork.core.store.atomic import json_bytes, write_bytes_atomic
from maskwork.core.store.image_fit import check_fits, stored_size
from maskwork.core.store.images import image_size, list_images, read_image
from maskwork.core.store.journal import EditJournal
from maskwork.core.store.names import ANNOTATIONS_DIR, AUTOSAVE_DIR, EDITS_DIR, PROJECT_FILE, STORE_DIR
from maskwork.core.store.project_meta import FORMAT, VERSION, check_task, has_meta, read_meta, read_stored
from maskwork.core.store.schemas import AnnotationFile
from maskwork.core.store.store_checks import check_classes

RECENT_CACHE = 16  # clean annotations kept in memory besides those someone still holds


def _locked(method):
    """GUI jobs (imports, batch prediction) touch the project from worker threads while the main
    thread autosaves: cache, dirty set and writes go through one re-entrant lock (Project.lock)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)
    return wrapper


class Project:
    """Use Project.open(folder) or Project.create(folder, classes, task). Thread-safe."""

    def __init__(self, root: Path, store: Path, classes: ClassList, task: str, settings: dict,
                 has_store: bool) -> None:
        self.root = root
        self.store = store
        self.classes = classes
        self.task = check_task(task)
        self.settings = settings
        self.has_store = has_store
        self.recovered: list[str] = []   # names whose unsaved work came back from the autosave journal
        self.recovered_edits: dict[str, int] = {}  # name -> edits replayed from the crash journal
        self.warnings: list[str] = []    # damaged journal entries and the like, for the user to see
        self.classes_unsaved = False     # the class list / settings changed since the last save (classes_changed)
        self._names: list[str] | None = None
        self._recent: OrderedDict[str, ImageAnnotation] = OrderedDict()
        self._alive: weakref.WeakValueDictionary[str, ImageAnnotation] = weakref.WeakValueDictionary()
        self._dirty: dict[str, ImageAnnotation] = {}
        self._generation: dict[str, int] = {}
        # held by the collaborators (core.store.autosave, import_txn) across several calls that must agree
        self.lock = threading.RLock()
        self.autosaved = autosave.AutosaveState()  # what autosave/ holds of the unsaved work
        self.journal = EditJournal(store / AUTOSAVE_DIR / EDITS_DIR)
        self.read_only = False            # opened to look only: save/autosave/save_as refuse
        self.lock_holder: str | None = None  # who else has it open for writing (core.store.project_lock)
        self._writer_lock: project_lock.ProjectLock | None = None
        self._writer: str | None = None   # the app named when opened for writing (save_as locks the new store)

    # ---- opening ---------------------------------------------------------------------------
    @classmethod
    def create(cls, folder: str | Path, classes: ClassList, task: str = "semantic",
               settings: dict | None = None) -> "Project":
        root = Path(folder).resolve()
        if (root / STORE_DIR / PROJECT_FILE).exists():
            raise ProjectError(f"{root} is already a Maskwork project; open it instead of creating it.")
        project = cls(root, root / STORE_DIR, classes.copy(), task, dict(settings or {}), has_store=False)
        project.save()
        return project

    @classmethod
    def open(cls, folder: str | Path, task: str = "semantic", classes: ClassList | None = None, *,
             writer: str | None = None, read_only: bool = False) -> "Project":
        """Open a project, or a plain folder of images (then `task`/`classes` apply and nothing is
        written until the first save). Unsaved work found in the autosave journal is recovered.

        writer="<app>" takes the project lock first (core.store.project_lock: ProjectLockedError when another
        live program has it; the GUI and writing CLI commands do this). read_only=True never writes.
        With neither (library use, reading commands) no lock is taken, and saves refuse while another
        program holds it. Only a project that may write settles leftovers (imports, temp files, journal):
        while someone else writes, those are theirs."""
        store = Path(folder).resolve() / STORE_DIR
        lock = project_lock.acquire(store, writer) if writer and not read_only else None
        holder = None if lock is not None else project_lock.other_holder(store)
        try:
            project = cls._open(folder, task, classes, settle=not read_only and holder is None)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        project._writer_lock, project._writer, project.read_only = lock, writer, read_only
        project.lock_holder = holder.describe() if holder is not None else None
        return project

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @classmethod
    def _open(cls, folder: str | Path, task: str, classes: ClassList | None, settle: bool) -> "Project":
        root = Path(folder).resolve()
        if not root.is_dir():
            raise ProjectError(f"{root} is not a folder; pick the folder that holds your images.")
        store = root / STORE_DIR
        meta_path = store / PROJECT_FILE
        from maskwork.core.store import import_txn  # a killed `import`: rolled forward or back first
        if not settle:  # someone else settles it; until then its files may be a half-applied mix
            import_txn.refuse_unfinished(store)
        import_notes = import_txn.finish_pending(store) if settle else []
        if not has_meta(store):
            plain = cls(root, store, (classes or ClassList()).copy(), task, {}, has_store=False)
            plain.warnings.extend(import_notes)
            return plain
        meta, recovered_meta = read_meta(store)
        image_root = Path(meta["image_root"]) if meta.get("image_root") else root
        if not image_root.is_dir():
            raise ProjectError(f"the images of the project {root} are missing: {image_root} (image_root in "
                               f"{meta_path}) is not a folder. Move the images back or fix image_root.")
        try:
            project = cls(image_root, store, ClassList.from_list(meta.get("classes", [])), meta.get("task", task),
                          dict(meta.get("settings", {})), has_store=True)
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{meta_path}: the class list is damaged ({exc}); fix or restore the file.") from exc
        project.warnings.extend(import_notes + meta.get("_warnings", []))
        if recovered_meta:
            project.recovered.append(PROJECT_FILE)
            project.classes_unsaved = True  # recovered classes are unsaved too
        if settle:  # only the writer may tidy and recover (another window may be mid-save)
            recovery.remove_temp_files(store)
            recovery.recover_snapshots(project)
            recovery.replay_journal(project)
        return project

    # ---- images ----------------------------------------------------------------------------
    @_locked
    def image_names(self, refresh: bool = False) -> list[str]:
        """Image files under the folder (subfolders too), sorted, with forward slashes.

        Hidden folders and those in settings["exclude_dirs"] (e.g. a masks/ folder) are skipped."""
        if self._names is None or refresh:
            self._names = list_images(self.root, self.settings.get("exclude_dirs", []))
            self._name_set = set(self._names)
        return list(self._names)

    def image_path(self, name: str) -> Path:
        return self.root / name

    def image(self, name: str) -> np.ndarray:
        return read_image(self.image_path(name))

    # ---- annotations -----------------------------------------------------------------------
    def annotation_path(self, name: str) -> Path:
        return self.store / ANNOTATIONS_DIR / (name + ".json")

    def journal_path(self, name: str) -> Path:
        return self.store / AUTOSAVE_DIR / ANNOTATIONS_DIR / (name + ".json")

    def annotation(self, name: str) -> ImageAnnotation:
        """The annotation of one image, read on first access and then shared (same object each time).

        Read outside the lock: a worker decoding a 48 MP label map must not hold up the edits."""
        with self.lock:
            ann = self._dirty.get(name) or self._alive.get(name)
        loaded = self._load(name) if ann is None else None
        with self.lock:
            ann = self._dirty.get(name) or self._alive.get(name)
            if ann is None:  # first reader wins; another thread's copy of the same file is dropped
                ann = self._alive[name] = loaded if loaded is not None else self._load(name)
            self._touch(name, ann)
            return ann

    def _touch(self, name: str, ann: ImageAnnotation) -> None:
        self._recent[name] = ann
        self._recent.move_to_end(name)
        while len(self._recent) > RECENT_CACHE:
            self._recent.popitem(last=False)

    def _load(self, name: str) -> ImageAnnotation:
        path = self.annotation_path(name)
        if path.exists():
            doc = read_stored(path, AnnotationFile)
            # before any mask is decoded: a damaged 30000x30000 label map is never allocated for a 640x480 photo
            check_fits(name, self.image_path(name), stored_size(doc), self.store.parent)
            return annotation_from_dict(doc, str(path))
        self.image_names()
        if name not in self._name_set:
            raise InputError(f"there is no image {name!r} in the project {self.root}; "
                             "check the name (relative path with forward slashes).")
        w, h = image_size(self.image_path(name))
        return ImageAnnotation(file_name=name, width=w, height=h)

    @_locked
    def set_annotation(self, name: str, ann: ImageAnnotation) -> None:
        """Replace the annotation of `name` (import); it becomes dirty."""
        ann.file_name = name
        with self.lock:
            self._dirty.pop(name, None)  # else annotation() would hand back the replaced, unsaved one
            self._alive[name] = ann
            self._recent[name] = ann
        self.mark_dirty(name)

    def has_saved_annotation(self, name: str) -> bool:
        return self.annotation_path(name).exists()

    @_locked
    def mark_dirty(self, name: str) -> None:
        ann = self.annotation(name)
        self._dirty[name] = ann
        self._generation[name] = self._generation.get(name, 0) + 1

    @property
    def dirty(self) -> list[str]:
        with self.lock:
            return sorted(self._dirty)

    @_locked
    def edit_generation(self, name: str) -> int:
        """Counts every change of `name` in memory (mark_dirty): equal before and after means untouched."""
        return self._generation.get(name, 0)

    @_locked
    def unsaved_annotations(self) -> list[tuple[str, ImageAnnotation, int]]:
        """(name, live annotation, edit generation) of every unsaved image, sorted by name."""
        return [(name, ann, self._generation.get(name, 0)) for name, ann in sorted(self._dirty.items())]

    # ---- saving ----------------------------------------------------------------------------
    def meta_document(self, saved_ns: int | None = None) -> dict:
        """project.json's document: the class list, the settings and what else the project is."""
        meta = {"format": FORMAT, "version": VERSION, "task": self.task, "classes": self.classes.to_list(),
                "settings": self.settings, "saved_ns": saved_ns or time.time_ns()}
        if self.root != self.store.parent:
            meta["image_root"] = str(self.root)
        return meta

    def meta_key(self) -> bytes:
        """project.json's content without its time stamp: equal keys mean nothing to journal or save."""
        return json_bytes({k: v for k, v in self.meta_document().items() if k != "saved_ns"})

    @_locked
    def save(self, names: list[str] | None = None) -> list[str]:
        """Write project.json and the annotations of `names` (default: every dirty one), each atomically.

        Returns the names written. On failure raises ProjectError; what was not written stays dirty."""
        todo = sorted(self._dirty) if names is None else list(names)
        self.check_can_save(todo)  # before anything is written
        write_bytes_atomic(self.store / PROJECT_FILE, json_bytes(self.meta_document(), indent=1))
        self._saved_meta()
        written = []
        for name in todo:
            generation = self._generation.get(name, 0)
            write_bytes_atomic(self.annotation_path(name), self.annotation_bytes(name))
            self._saved(name, generation)
            written.append(name)
        return written

    @_locked
    def note_saved(self, generations: dict[str, int]) -> None:
        """project.json and the annotations of `generations` (name -> the edit generation written) are on disk,
        written by someone else (core.store.import_txn): the bookkeeping save() does."""
        self._saved_meta()
        for name, generation in generations.items():
            self._saved(name, generation)

    def _saved_meta(self) -> None:
        """project.json is on disk (a save, or an import's commit): its journal entry is spent, the class list saved."""
        self.has_store = True
        self.classes_unsaved = False
        self.autosaved.meta_key = self.meta_key()
        self._drop_journal(self.store / AUTOSAVE_DIR / PROJECT_FILE)

    @_locked
    def mark_clean(self, name: str) -> None:
        """`name` in memory equals its saved file again (undo went back to the save, core.store.saved_state):
        no longer unsaved; its autosave snapshot and crash log are spent like after a save."""
        self._saved(name, self._generation.get(name, 0))

    def _saved(self, name: str, generation: int) -> None:
        """`name` as of `generation` is on disk: clean unless edited since; snapshot and crash log are
        spent (a log left behind would be replayed over the saved file on the next open)."""
        if self._generation.get(name, 0) == generation:
            self._dirty.pop(name, None)
        self.journal.rotate(name)
        self._drop_journal(self.journal_path(name))
        self.autosaved.forget(name)

    @_locked
    def check_can_save(self, names: list[str]) -> None:
        """Refuse before anything is written: the store is a file, this project may not write, or an annotation
        of `names` names an undefined class (its export would be refused)."""
        if self.store.exists() and not self.store.is_dir():
            raise ProjectError(f"{self.store} is a file, not the Maskwork store folder; move it away and save again.")
        self.check_may_write()
        self._check_classes(names)

    def check_may_write(self) -> None:
        """Refuse before writing when this project may not write (core.store.project_lock)."""
        if self.read_only:
            who = f" because {self.lock_holder} has it open for writing" if self.lock_holder else ""
            raise ProjectError(f"{self.store.parent} was opened read-only{who}, so nothing was written; close it "
                               "there, then open the project again here to edit and save.")
        if self._writer_lock is not None:
            self._writer_lock.verify()
        else:
            project_lock.refuse_if_held(self.store)

    def _lock_store(self, store: Path) -> project_lock.ProjectLock | None:
        """save_as: the new store gets this project's lock (or, unlocked, must not be someone else's)."""
        if self._writer:
            return project_lock.acquire(store, self._writer)
        project_lock.refuse_if_held(store)
        return None

    def _check_classes(self, names: list[str]) -> None:
        for name in names:
            check_classes(name, self.annotation(name), self.classes)

    @staticmethod
    def _drop_journal(path: Path) -> None:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass  # a stale journal entry is ignored on open: it is older than the saved file

    @_locked
    def autosave(self) -> list[str]:
        """Journal unsaved work under .maskwork/autosave/ without touching saved files.

        Only annotations changed since the last autosave are written. Returns their names. The
        window splits this into a cheap capture and a write in a worker (core.store.autosave)."""
        return autosave.autosave_now(self)

    @_locked
    def annotation_bytes(self, name: str) -> bytes:
        """What a save writes for `name`: its stored document, marked with how much of its crash journal it holds."""
        doc = annotation_to_dict(self.annotation(name))
        doc["journal"] = self.journal.mark(name)
        return json_bytes(doc)

    # ---- crash journal ---------------------------------------------------------------------
    @_locked
    def record_edit(self, name: str, bbox=None) -> bool:
        """Journal a completed edit of `name` (call right after it was applied, undone or redone).

        Cheap on the calling thread; on disk within about a second (core.store.journal)."""
        if self.read_only or self.lock_holder:  # another process writes this store
            return False
        ann = self._dirty.get(name) or self._alive.get(name)
        if ann is None:
            return False
        if not self.has_store and self.autosaved.meta_key is None:
            self.journal_classes()  # a plain folder: open() needs the task and classes to replay
        return self.journal.record(name, ann, bbox)

    def classes_changed(self) -> None:
        """The class list or the settings were edited (any front end): unsaved until the next save, journaled now
        so a crash keeps them."""
        self.classes_unsaved = True
        self.journal_classes()

    def mark_classes_clean(self) -> None:
        """Undo went back to the saved class list (core.store.saved_state.classes_match_saved said so)."""
        self.classes_unsaved = False

    @_locked
    def journal_classes(self) -> None:
        """Journal the class list and settings now (they changed), off the calling thread."""
        if self.read_only or self.lock_holder:  # another process writes this store
            return
        if self.meta_key() != self.autosaved.meta_key:
            self.journal_meta()

    def meta_needs_journal(self) -> bool:
        """For the autosave: the class list or settings changed since they were last journaled, and there is
        something to keep them for (a store, or unsaved images; a plain folder just opened has neither)."""
        return self.meta_key() != self.autosaved.meta_key and (self.has_store or bool(self._dirty))

    @_locked
    def journal_meta(self) -> None:
        """Queue project.json's journal entry (autosave/project.json) with the class list and settings as now."""
        self.journal.write_file(self.store / AUTOSAVE_DIR / PROJECT_FILE, json_bytes(self.meta_document()))
        self.autosaved.meta_key = self.meta_key()

    @_locked
    def discard_unsaved(self) -> None:
        """The user chose Discard: drop the journal and the autosaved snapshots; saved files stay."""
        if self.read_only or self.lock_holder:
            return  # they belong to the process that holds the project
        self.autosaved.discard()  # a snapshot being written in a worker finishes first, later ones never
        self.journal.discard()
        self.journal.flush()
        shutil.rmtree(self.store / AUTOSAVE_DIR, ignore_errors=True)
        self._dirty.clear()
        self.classes_unsaved = False
        self._alive.clear()
        self._recent.clear()

    @_locked
    def forget_cached(self, name: str) -> None:
        """Drop what memory holds of `name` (its stored work was set aside, core/store/forget.py): read afresh next."""
        for held in (self._dirty, self._alive, self._recent):
            held.pop(name, None)
        self.autosaved.forget(name)

    def close(self) -> None:
        """Finish the journal writes (the window closes the project or quits) and release the lock."""
        self.journal.flush()
        self.journal.close()
        if self._writer_lock is not None:
            self._writer_lock.release()
            self._writer_lock = None

    @_locked
    def adopt_recovered(self, name: str, ann: ImageAnnotation, from_snapshot: bool) -> None:
        """Recovered unsaved work of `name` (core.store.recovery): shared, dirty, listed for the user. From an
        autosave snapshot: that snapshot holds it (not written again until edited)."""
        self._alive[name] = self._recent[name] = self._dirty[name] = ann
        self._generation[name] = self._generation.get(name, 0) + 1
        if from_snapshot:
            self.autosaved.snapshot_written(name, self._generation[name])
        if name not in self.recovered:
            self.recovered.append(name)

    @_locked
    def save_as(self, folder: str | Path) -> None:
        """Move the store to another folder (e.g. when the image folder is read-only); images stay.

        Every annotation (saved or unsaved) is written to the new store, then the project uses it."""
        new_store = Path(folder).resolve() / STORE_DIR
        if new_store == self.store:
            self.save()
            return
        old_store = self.store
        if self.read_only:
            self.check_may_write()  # raises: a read-only project writes nowhere
        names = sorted(set(self._dirty) | {n for n in self.image_names() if self.has_saved_annotation(n)})
        anns = {n: self.annotation(n) for n in names}  # read everything from the old store first
        self._check_classes(names)
        new_lock = self._lock_store(new_store)
        self.store = new_store
        try:
            write_bytes_atomic(new_store / PROJECT_FILE, json_bytes(self.meta_document(), indent=1))
            for name, ann in anns.items():
                write_bytes_atomic(self.annotation_path(name), json_bytes(annotation_to_dict(ann)))
        except ProjectError:
            self.store = old_store
            if new_lock is not None:
                new_lock.release()
            raise
        if self._writer_lock is not None:
            self._writer_lock.release()
        self._writer_lock = new_lock
        self._dirty.clear()
        self.autosaved.forget()
        self.classes_unsaved = False
        self.has_store = True
        # everything is saved in the new store: the old journal is spent, a new one starts there
        self.journal.discard()
        self.journal.close()
        self.journal = EditJournal(new_store / AUTOSAVE_DIR / EDITS_DIR)
