"""Edit > Mark reviewed (R): the per-image reviewed mark (core/store/review.py) from the window.

Marking goes to the crash journal at once (project.json's journal entry) and counts as unsaved work
until the next save. With the "review pass" preference on, accepting a prediction marks the image
reviewed, and marking an image reviewed opens the next unreviewed one of the image list.
"""
from __future__ import annotations

from maskwork.core.store import review
from maskwork.core.store.names import PROJECT_FILE
from maskwork.gui import preferences

UNSAVED_ITEM = "(reviewed marks)"


class ReviewController:
    def __init__(self, window) -> None:
        self.window, self.state = window, window.state
        self._saved_marks: set[str] = set()  # the marks as the saved project.json has them
        self._project = None
        window.session.unsaved_sources.append(self.unsaved)
        window.session.saved.connect(self._remember_saved)
        window.editor.accepted.connect(self.after_accept)
        self.state.project_changed.connect(self._project_opened)

    # ---- unsaved work --------------------------------------------------------------------
    def _project_opened(self) -> None:
        p = self.state.project
        if p is self._project:
            return  # the same project announced again (panels docked late): what is saved has not changed
        self._project = p
        recovered = p is not None and PROJECT_FILE in p.recovered  # marks from the journal: compare with disk
        self._saved_marks = review.saved_reviewed_names(p) if recovered else self._marks()

    def _remember_saved(self) -> None:
        self._saved_marks = self._marks()

    def _marks(self) -> set[str]:
        p = self.state.project
        return review.reviewed_names(p) if p is not None else set()

    def unsaved(self) -> list[str]:
        p = self.state.project
        if p is None or p.read_only:
            return []
        return [UNSAVED_ITEM] if self._saved_marks != self._marks() else []

    # ---- marking -------------------------------------------------------------------------
    def toggle(self) -> None:
        """R: mark the current image reviewed, or take the mark back."""
        name = self.state.current_name
        if name is None:
            return
        self.set_current(not review.is_reviewed(self.state.project, name))

    def set_current(self, reviewed: bool) -> bool:
        p, name = self.state.project, self.state.current_name
        if p is None or name is None or self.state.refuse_read_only():
            return False
        if not review.set_reviewed(p, [name], reviewed):
            return False
        self.state.reviewed_changed.emit([name])
        self.window.session.title_changed.emit()
        left = len(p.image_names()) - len(review.reviewed_names(p) & set(p.image_names()))
        if reviewed:
            self.state.status_message.emit(f"{name} marked reviewed (R again takes it back); "
                                           f"{left} image{'s' if left != 1 else ''} left to review.")
            if preferences.value("review_pass"):
                self.open_next_unreviewed()
        else:
            self.state.status_message.emit(f"{name} is no longer marked reviewed.")
        return True

    def after_accept(self) -> None:
        """Accept prediction (Ctrl+Return) in a review pass: reviewed, on to the next one."""
        if preferences.value("review_pass"):
            self.set_current(True)

    def open_next_unreviewed(self) -> str | None:
        """The next unreviewed image after the current one among those the image list shows."""
        image_list = self.window.image_list
        shown = set(image_list.visible_names())
        current = self.state.current_name
        names = [n for n in image_list.model.names if n in shown or n == current]
        target = review.next_unreviewed(names, current, review.reviewed_names(self.state.project))
        if target is None:
            self.state.status_message.emit("Every image in the list is reviewed.")
            return None
        self.window.session.open_image(target)
        return target
