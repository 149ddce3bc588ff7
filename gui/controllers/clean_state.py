"""Undo back to the last save makes an image saved again (issue 12): the unsaved count and the title's
star return to clean.

A save marks every undo stack clean (QUndoStack.setClean). When undo or redo reaches that point
again (QUndoStack.cleanChanged), the image is compared with its saved file (core.store.saved_state: a
model run or an import since the save changed it without an undo step). Reading the file of a big
image takes about half a second, so the comparison runs in a worker on a private copy; the image is
marked clean only if, when the answer comes, it has not changed since and its stack is still at the
save point. The class list is compared with the saved project.json at once (a small file).
"""
from __future__ import annotations

from PySide6.QtCore import QObject

from maskwork.core.store.autosave import private_copy
from maskwork.core.store.saved_state import classes_match_saved, matches_saved
from maskwork.gui.workers import Job, start


class CleanTracker(QObject):
    def __init__(self, session) -> None:
        super().__init__(session)
        self.session = session
        self.undo = session.editor.undo
        self.jobs: list[Job] = []  # comparisons in flight (kept alive until they answer)
        session.saved.connect(self.undo.mark_saved)
        self.undo.clean_reached.connect(self.on_clean_reached)

    def on_clean_reached(self, name: str) -> None:
        session, project = self.session, self.session.state.project
        if project is None or project.read_only:
            return
        if project.classes_unsaved and classes_match_saved(project):  # e.g. an added class undone
            project.mark_classes_clean()
            session.title_changed.emit()
        if name not in project.dirty:
            return
        copy, generation = private_copy(project.annotation(name)), project.edit_generation(name)
        job = Job(matches_saved, project, name, copy, pass_progress=False)
        job.signals.finished.connect(lambda same, j=job: self._settle(j, project, name, generation, same))
        job.signals.failed.connect(lambda _message, j=job: self._forget(j))  # unreadable file: stays unsaved
        self.jobs.append(job)
        start(job)

    def _settle(self, job: Job, project, name: str, generation: int, same: bool) -> None:
        self._forget(job)
        session = self.session
        if not same or session.state.project is not project or project.edit_generation(name) != generation:
            return
        if not self.undo.is_clean(name) or name not in project.dirty:
            return
        session.autosaver.wait()  # a snapshot being written now must not outlive the clean state
        project.mark_clean(name)
        session.title_changed.emit()

    def _forget(self, job: Job) -> None:
        if job in self.jobs:
            self.jobs.remove(job)
