"""An image whose file changed size under its masks (core/store/image_fit.py): the window offers what
`maskwork forget-image` does, with a button, instead of sending the user to a terminal.

"Start this image again" sets the image's stored work aside under .maskwork/forgotten/<time>/ (moved, never
deleted: core/store/forget.py) and opens the image fresh; "Leave it" changes nothing, so putting the original file
back still brings the masks back.
"""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from maskwork.core.domain.errors import MaskworkError
from maskwork.core.store.forget import forget_image
from maskwork.core.store.image_fit import ImageSizeChanged
from maskwork.gui.dialogs import messages

START_AGAIN = "Start this image again"


def explain(exc: ImageSizeChanged) -> str:
    (w, h), (sw, sh) = exc.image, exc.stored
    return (f"{exc.name} is now {w} x {h} pixels, but its masks were drawn on a {sw} x {sh} image: the file was "
            "replaced, and the masks no longer lie on its pixels.\n\n"
            "Put the original file back and open the image again to keep working on its masks, or start this "
            "image again: its masks, snapshots and edit log are moved to .maskwork/forgotten/ in the project "
            "folder (nothing is deleted) and the image opens without annotations.")


def ask(parent, exc: ImageSizeChanged) -> bool:
    """True when the user chose to start the image again."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Image changed size")
    box.setText(explain(exc))
    again = box.addButton(START_AGAIN, QMessageBox.ButtonRole.DestructiveRole)
    leave = box.addButton("Leave it", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(leave)
    box.exec()
    return box.clickedButton() is again


def offer(session, exc: ImageSizeChanged) -> bool:
    """Ask, and on "Start this image again" set the stored work aside and open the image; True when opened."""
    project = session.state.project
    if project is None or project.read_only:
        messages.show_error(session.window, exc)  # read-only: nothing may move; the message says what to do
        return False
    if not ask(session.window, exc):
        return False
    try:
        aside = forget_image(project, exc.name, save_mark=False)  # its reviewed mark goes unsaved, like R
    except MaskworkError as err:
        messages.show_error(session.window, err)
        return False
    session.editor.undo.forget([exc.name])
    session.state.reviewed_changed.emit([exc.name])
    session.title_changed.emit()
    session.state.status_message.emit(f"{exc.name} starts again; its earlier work is in {aside}.")
    return session.open_image(exc.name)
