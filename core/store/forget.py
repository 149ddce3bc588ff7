"""Start one image again: its stored work is set aside, never deleted (`maskwork forget-image`).

For an image whose file was replaced by one of another size (core/store/image_fit.py) or whose stored annotation is
damaged: the saved annotation, its autosave snapshot and its crash-journal log move to
.maskwork/forgotten/<time>/ (the user can still look at them or put them back), its reviewed mark goes, and
the image opens as a fresh one with the size of the file that is there now.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from maskwork.core.domain.errors import InputError, ProjectError
from maskwork.core.store import review
from maskwork.core.store.atomic import fsync_dir
from maskwork.core.store.names import FORGOTTEN_DIR


def forget_image(project, name: str, save_mark: bool = True) -> Path:
    """Move the stored work of `name` under .maskwork/forgotten/<time>/; returns that folder.

    The project must be open for writing (Project.open(..., writer=...)). InputError when nothing is stored
    for that name. Its reviewed mark goes; `save_mark` writes project.json at once (the CLI). The window passes
    False: the removal is then journaled, unsaved like any mark change, because writing project.json there would
    also save the user's other unsaved marks and class-list changes without their Save."""
    if project.read_only or project.lock_holder:
        raise ProjectError(f"{project.store.parent} is open for writing by {project.lock_holder or 'another program'}"
                           "; close it there and run the command again.")
    project.journal.flush()  # the log's queued records land before it moves
    sources = {"annotations": project.annotation_path(name), "autosave": project.journal_path(name),
               "edits": project.journal.log_path(name)}
    present = {kind: path for kind, path in sources.items() if path.exists()}
    if not present and name not in project.dirty:
        raise InputError(f"{project.store.parent} holds no stored work for {name!r}; check the name (the image's "
                         "path relative to the project folder, with forward slashes).")
    aside = project.store / FORGOTTEN_DIR / time.strftime("%Y%m%d-%H%M%S")
    for kind, path in present.items():
        target = aside / kind / path.relative_to(path.parents[len(Path(name).parts) - 1])
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)
        except OSError as exc:
            raise ProjectError(f"cannot move {path} to {target} ({exc.strerror or exc}); check that "
                               f"{project.store} is writable and run the command again.") from exc
        fsync_dir(target.parent)
    project.journal.rotate(name)
    project.forget_cached(name)
    if review.set_reviewed(project, [name], False) and save_mark:
        project.save([])  # project.json without the mark
    return aside
