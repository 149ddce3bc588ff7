"""Bringing back unsaved work when a project opens after a crash (ADR 0001, ADR 0007).

Three steps, run by Project.open for the process that may write: remove temp files of killed saves;
take autosave snapshots newer than their saved file; replay crash-journal logs newer than the
newest snapshot. What came back is listed in project.recovered (and recovered_edits), what could not
in project.warnings, for the window's "Recovered work" note.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from maskwork.core.domain.annotation import ImageAnnotation
from maskwork.core.domain.errors import InputError, ProjectError
from maskwork.core.store.annotation_json import annotation_from_dict
from maskwork.core.store.atomic import TEMP_SUFFIX
from maskwork.core.store.image_fit import check_fits, stored_size
from maskwork.core.store.journal import EditJournal, read_logs
from maskwork.core.store.journal.changes import apply as apply_change
from maskwork.core.store.names import ANNOTATIONS_DIR, AUTOSAVE_DIR
from maskwork.core.store.schemas import AnnotationFile, JournalRecord, check, load_json


class RecoveringProject(Protocol):
    """What the recovery uses of a Project (core.store.project) being opened: nothing private."""
    store: Path
    journal: EditJournal
    recovered: list[str]
    recovered_edits: dict[str, int]
    warnings: list[str]

    def annotation(self, name: str) -> ImageAnnotation: ...
    def annotation_path(self, name: str) -> Path: ...
    def journal_path(self, name: str) -> Path: ...
    def image_path(self, name: str) -> Path: ...
    def adopt_recovered(self, name: str, ann: ImageAnnotation, from_snapshot: bool) -> None: ...


def _read_json(path: Path) -> dict:
    """An annotation document (saved or autosaved), checked against its schema."""
    try:
        return load_json(path, AnnotationFile)
    except OSError as exc:
        raise ProjectError(f"cannot read {path}: {exc.strerror or exc}") from exc


def remove_temp_files(store: Path) -> None:
    """Temp files of saves killed midway are garbage (the target is the old or the new file)."""
    if not store.is_dir():
        return
    for path in store.rglob("*" + TEMP_SUFFIX):
        try:
            path.unlink()
        except OSError:
            pass  # a read-only store: they stay, ignored


def recover_snapshots(project: RecoveringProject) -> None:
    """Autosave snapshots newer (saved_ns) than their saved file come back as unsaved work."""
    root = project.store / AUTOSAVE_DIR / ANNOTATIONS_DIR
    if not root.is_dir():
        return
    for dirpath, _dirs, files in os.walk(root):
        for f in sorted(files):
            if not f.endswith(".json"):
                continue
            path = Path(dirpath) / f
            name = path.relative_to(root).as_posix()[: -len(".json")]
            try:
                doc = _read_json(path)
                saved = project.annotation_path(name)
                saved_ns = _read_json(saved).get("saved_ns", 0) if saved.exists() else -1
                if doc.get("saved_ns", 0) <= saved_ns:
                    continue
                check_fits(name, project.image_path(name), stored_size(doc), project.store.parent)  # before decoding
                ann = annotation_from_dict(doc, str(path))
            except (InputError, ProjectError) as exc:
                project.warnings.append(f"autosaved work for {name} could not be recovered: {exc}")
                continue
            project.adopt_recovered(name, ann, from_snapshot=True)


def _snapshot_mark(project: RecoveringProject, name: str) -> dict | None:
    """The journal mark of the document the image was loaded from (snapshot if recovered, else saved)."""
    path = project.journal_path(name) if name in project.recovered else project.annotation_path(name)
    try:
        mark = _read_json(path).get("journal") if path.exists() else None
    except (InputError, ProjectError):
        return None
    return mark if isinstance(mark, dict) else None


def replay_journal(project: RecoveringProject) -> None:
    """Edits journaled after the newest snapshot of each image are applied to it."""
    journal = project.journal
    for name, (log_id, records, _torn) in read_logs(journal.folder).items():
        if log_id is None or not records:
            journal.rotate(name)
            continue
        where = journal.log_path(name)
        try:  # every record fits its schema before any is applied (a damaged seq must not stop the open)
            for k, rec in enumerate(records, start=2):
                check(rec, JournalRecord, where=f"{where} (record {k})")
        except InputError as exc:
            project.warnings.append(f"edits journaled for {name} could not be replayed: {exc}")
            continue
        last = records[-1]["seq"]
        mark = _snapshot_mark(project, name)
        if mark is not None and mark.get("log") == log_id and mark.get("seq", 0) >= last:
            journal.rotate(name)  # a snapshot holds all of it (the kill came before the log was dropped)
            continue
        start = max(i for i, r in enumerate(records) if r.get("full") or i == 0)
        try:
            ann = project.annotation(name)
            state = ImageAnnotation(file_name=name, width=ann.width, height=ann.height)
            for rec in records[start:]:
                apply_change(state, rec, str(journal.log_path(name)))
        except (InputError, ProjectError, KeyError, ValueError, TypeError) as exc:
            project.warnings.append(f"edits journaled for {name} could not be replayed: {exc}; the file "
                                    f"{journal.log_path(name)} is kept for inspection")
            continue
        ann.corrected, ann.status = state.corrected, state.status
        project.adopt_recovered(name, ann, from_snapshot=False)
        journal.adopt(name, log_id, last)
        project.recovered_edits[name] = len(records)
