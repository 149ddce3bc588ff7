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
import time
from dataclasses import dataclass

from maskwork.core.domain.annotation import ClassList, ImageAnnotation, Layer
from maskwork.core.store.annotation_json import annotation_to_dict
from maskwork.core.store.atomic import json_bytes, write_bytes_atomic
from maskwork.core.store.store_checks import check_classes

PROJECT_FILE = "project.json"
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


def _meta_changed(project) -> bool:
    """The class list or settings changed since they were last journaled."""
    return project._meta_key() != project._meta_journaled and (project.has_store or bool(project._dirty))


def capture(project) -> Snapshot | None:
    """Cheap copies of the unsaved work not yet autosaved (None: nothing to do). Raises ProjectError
    when this project may not write (read-only, lock lost)."""
    with project._lock:
        project._check_one_writer()
        items = []
        for name, ann in sorted(project._dirty.items()):
            generation = project._generation.get(name, 0)
            if project._journaled.get(name) != generation:
                items.append(Item(name, generation, private_copy(ann), project.journal.mark(name)))
        if not items and not _meta_changed(project):
            return None
        classes = ClassList.from_list(project.classes.to_list())
        return Snapshot(project._autosave_epoch, time.time_ns(), classes, items)


def write(project, snapshot: Snapshot | None) -> list[str]:
    """Encode and write the captured snapshots (any thread). Returns the names written. Raises
    UndefinedClassError (nothing written) or ProjectError (disk full, read-only folder)."""
    if snapshot is None:
        return []
    for item in snapshot.items:  # before anything is written, as a save does
        check_classes(item.name, item.annotation, snapshot.classes)
    with project._lock:
        if project._autosave_epoch == snapshot.epoch and _meta_changed(project):
            # queued in order with the class-list journal (a plain folder too: open() recovers from it)
            project.journal.write_file(project.store / "autosave" / PROJECT_FILE, json_bytes(project._meta()))
            project._meta_journaled = project._meta_key()
    written: list[Item] = []
    for item in snapshot.items:
        doc = annotation_to_dict(item.annotation)
        doc["saved_ns"] = snapshot.stamp_ns
        doc["journal"] = item.mark
        data = json_bytes(doc)
        with project._autosave_lock:  # never the project lock here: edits go on meanwhile
            if project._autosave_epoch != snapshot.epoch:
                return [i.name for i in written]  # the user discarded the unsaved work meanwhile
            write_bytes_atomic(project.journal_path(item.name), data)
        written.append(item)
    with project._lock:
        if project._autosave_epoch != snapshot.epoch:
            return []
        for item in written:
            project._journaled[item.name] = item.generation
            if project.journal.mark(item.name) == item.mark:  # nothing journaled since the capture
                project.journal.compact(item.name)
    return [item.name for item in written]


def autosave_now(project) -> list[str]:
    """Both steps on this thread; the class-list snapshot is on disk when it returns."""
    names = write(project, capture(project))
    project.journal.flush()
    return names
