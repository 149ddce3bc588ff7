"""Undo back to the last save makes an image saved again (issue 12): the unsaved count and the title's
star return to clean.

A save marks every undo stack clean (QUndoStack.setClean). When undo or redo reaches that point
again (QUndoStack.cleanChanged), the image is compared with its saved file (core.saved_state: a
model run or an import since the save changed it without an undo step) and, when equal, the project
stops counting it as unsaved. The class list likewise, against the saved project.json.
"""
from __future__ import annotations

from PySide6.QtCore import QObject

from maskwork.core.errors import MaskworkError
from maskwork.core.saved_state import classes_match_saved, matches_saved


class CleanTracker(QObject):
    def __init__(self, session) -> None:
        super().__init__(session)
        self.session = session
        undo = session.editor.undo
        session.saved.connect(undo.mark_saved)
        undo.clean_reached.connect(self.on_clean_reached)

    def on_clean_reached(self, name: str) -> None:
        session, project = self.session, self.session.state.project
        if project is None or project.read_only:
            return
        changed = False
        if session.classes_edited and classes_match_saved(project):  # e.g. an added class undone
            session.classes_edited, changed = False, True
        if name in project.dirty and self._matches(project, name):
            session.autosaver.wait()  # a snapshot being written now must not outlive the clean state
            project.mark_clean(name)
            changed = True
        if changed:
            session.title_changed.emit()

    @staticmethod
    def _matches(project, name: str) -> bool:
        try:
            return matches_saved(project, name)
        except MaskworkError:  # an unreadable saved file: keep counting the image as unsaved
            return False
