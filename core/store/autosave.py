"""Autosave snapshots in two steps, so that the window never waits for an encode or an fsync.

capture(project)   on the calling thread (the GUI thread), under the project lock: what changed since
                   the last autosave, as private copies. Only the corrected layer is copied (a memcpy
                   of the label map, the instance list); predictions are never edited in place and
                   masks are immutable, so those are shared. The crash-journal mark is taken in the
                   same instant, so a snapshot says exactly which journaled edits it holds (ADR 0007).
write(project, s)  on any thread: checks the classes, encodes, writes every snapshot atomically
                   (core.store.atomic), then marks them journaled and compacts a long crash log only
                   when no edit was journaled after the capture.

Project.autosave() runs both at once (command line, tests); the window runs write() in a worker
(gui/controllers/autosaver.py). A snapshot is stamped with its capture time, so one that lands after a later
save is older than the saved file and never recovered over it; one captured before Discard is
never written after it (the discard epoch). See docs/adr/0012-no-stall-and-a-lean-start-up.md.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from maskwork.core.domain.annotation import ClassList, ImageAnnotation, Layer
from maskwork.core.store.annotation_json import annotation_to_dict
from maskwork.core.store.atomic import json_bytes, write_bytes_atomic
from maskwork.core.store.journal import EditJournal
from maskwork.core.store.names import PROJECT_FILE
from maskwork.core.store.store_checks import check_classes

# a recovered item that is not an image, as the "Recovered work" note names it (the user knows no file names)
RECOVERED_IN_WORDS = {PROJECT_FILE: "the class list and project settings (reviewed marks, locks)"}


def recovered_in_words(item: str) -> str:
    """An entry of project.recovered in the user's words: an image name, or what project.json holds."""
    return RECOVERED_IN_WORDS.get(item, item)


@dataclass
class Item:
    name: str
    generation: int            # the project's edit generation of `name` at capture
    annotation: ImageAnnotation  # a private copy: edits made after the capture do not reach it
    mark: dict | None          # the crash-journal mark at capture (what of the log the snapshot holds)


@dataclass
class Snapshot:
    epoch: int                 # the project's discard epoch at capture
    stamp_ns: int              # capture time, written as the snapshot's saved_ns
    classes: ClassList
    items: list[Item]


def private_copy(ann: ImageAnnotation) -> ImageAnnotation:
    """A copy the GUI thread may go on editing past: the corrected layer copied, the rest shared."""
    prediction = None if ann.prediction is None else Layer(ann.prediction.label_map, list(ann.prediction.instances))
    return dataclasses.replace(ann, corrected=ann.corrected.copy(), prediction=prediction)


class AutosaveState:
    """What the autosave folder holds of one project's unsaved work. The project's lock guards it, except
    `write_lock`, the only lock held while a snapshot file is written (edits go on meanwhile)."""

    def __init__(self) -> None:
        self.write_lock = threading.Lock()
        self.epoch = 0                      # bumped by Discard: snapshots captured before are never written
        self.meta_key: bytes | None = None  # the class list and settings as last journaled (Project.meta_key)
        self._generations: dict[str, int] = {}  # image -> the edit generation its snapshot holds

    def holds(self, name: str, generation: int) -> bool:
        return self._generations.get(name) == generation

    def snapshot_written(self, name: str, generation: int) -> None:
        self._generations[name] = generation

    def forget(self, name: str | None = None) -> None:
        """`name`'s snapshot is spent (saved, set aside); None: every image's (the store moved)."""
        if name is None:
            self._generations.clear()
        else:
            self._generations.pop(name, None)

    def discard(self) -> None:
        """Discard: a snapshot being written finishes first, later ones (captured before) are never written."""
        with self.write_lock:
            self.epoch += 1
        self._generations.clear()
        self.meta_key = None


class AutosavedProject(Protocol):
    """What capture() and write() use of a Project (core.store.project): nothing private."""
    autosaved: AutosaveState
    journal: EditJournal
    classes: ClassList

    @property
    def lock(self) -> AbstractContextManager[Any]: ...  # the project's re-entrant lock
    def check_may_write(self) -> None: ...
    def unsaved_annotations(self) -> list[tuple[str, ImageAnnotation, int]]: ...
    def meta_needs_journal(self) -> bool: ...
    def journal_meta(self) -> None: ...
    def journal_path(self, name: str) -> Path: ...


def capture(project: AutosavedProject) -> Snapshot | None:
    """Cheap copies of the unsaved work not yet autosaved (None: nothing to do). Raises ProjectError
    when this project may not write (read-only, lock lost)."""
    state = project.autosaved
    with project.lock:
        project.check_may_write()
        items = [Item(name, generation, private_copy(ann), project.journal.mark(name))
                 for name, ann, generation in project.unsaved_annotations() if not state.holds(name, generation)]
        if not items and not project.meta_needs_journal():
            return None
        classes = ClassList.from_list(project.classes.to_list())
        return Snapshot(state.epoch, time.time_ns(), classes, items)


def write(project: AutosavedProject, snapshot: Snapshot | None) -> list[str]:
    """Encode and write the captured snapshots (any thread). Returns the names written. Raises
    UndefinedClassError (nothing written) or ProjectError (disk full, read-only folder)."""
    if snapshot is None:
        return []
    for item in snapshot.items:  # before anything is written, as a save does
        check_classes(item.name, item.annotation, snapshot.classes)
    state = project.autosaved
    with project.lock:
        if state.epoch == snapshot.epoch and project.meta_needs_journal():
            # queued in order with the class-list journal (a plain folder too: open() recovers from it)
            project.journal_meta()
    written: list[Item] = []
    for item in snapshot.items:
        doc = annotation_to_dict(item.annotation)
        doc["saved_ns"] = snapshot.stamp_ns
        doc["journal"] = item.mark
        data = json_bytes(doc)
        with state.write_lock:  # never the project lock here: edits go on meanwhile
            if state.epoch != snapshot.epoch:
                return [i.name for i in written]  # the user discarded the unsaved work meanwhile
            write_bytes_atomic(project.journal_path(item.name), data)
        written.append(item)
    with project.lock:
        if state.epoch != snapshot.epoch:
            return []
        for item in written:
            state.snapshot_written(item.name, item.generation)
            if project.journal.mark(item.name) == item.mark:  # nothing journaled since the capture
                project.journal.compact(item.name)
    return [item.name for item in written]


def autosave_now(project: AutosavedProject) -> list[str]:
    """Both steps on this thread; the class-list snapshot is on disk when it returns."""
    names = write(project, capture(project))
    project.journal.flush()
    return names
