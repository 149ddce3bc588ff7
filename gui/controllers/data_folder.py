"""The per-user data folder (the writable copy of the samples): <generic data folder>/Maskwork, for
example ~/.local/share/Maskwork on Linux.

Qt's AppDataLocation appends both the organisation and the application name, and both are
"Maskwork", so earlier versions wrote to ~/.local/share/Maskwork/Maskwork. That folder's contents
are moved up on the next start and the recent-projects list follows them; when they cannot be moved
(a project in it is open in another Maskwork, a permission problem) the old folder is used as it is,
so nobody's samples or work go missing.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

from maskwork.core.store.names import LOCK_FILE, STORE_DIR

APP_FOLDER = "Maskwork"
RECENT_KEY = "recent_projects"  # gui/controllers/session.py keeps the recent list there
LOCK = Path(STORE_DIR) / LOCK_FILE

log = logging.getLogger(__name__)


def _location(kind) -> Path:
    return Path(QStandardPaths.writableLocation(kind))


def doubled_folder() -> Path:
    """Where earlier versions kept their data (organisation and application name both appended)."""
    return _location(QStandardPaths.StandardLocation.AppDataLocation)


def data_folder() -> Path:
    """The data folder, after moving an old doubled one up (or that old one when it cannot be moved)."""
    new = _location(QStandardPaths.StandardLocation.GenericDataLocation) / APP_FOLDER
    old = doubled_folder()
    if old == new or new.is_relative_to(old) or not old.is_dir():
        return new
    return new if migrate(old, new) else old


def migrate(old: Path, new: Path) -> bool:
    """Move what `old` holds into `new` (entries already in `new` stay where they are). True when `new`
    is the folder to use from now on."""
    if any(old.glob(f"*/{LOCK}")) or any(old.glob(f"*/*/{LOCK}")):
        return False  # a project there is open (or was, in a crashed session): move it another time
    try:
        new.mkdir(parents=True, exist_ok=True)
        for entry in sorted(old.iterdir()):
            target = new / entry.name
            if target.exists() or target == old:
                log.warning("data folder: %s kept in %s (%s exists)", entry.name, old, target)
                continue
            shutil.move(str(entry), str(target))
        _follow_moves(old, new)
        if not any(old.iterdir()):
            old.rmdir()
    except OSError as exc:
        log.warning("data folder: could not move %s to %s: %s", old, new, exc)
        _follow_moves(old, new)  # what did move is found at its new place
        return not any(old.glob("samples"))
    return True


def _follow_moves(old: Path, new: Path) -> None:
    """Recent projects that were moved from `old` to `new` are listed at their new place."""
    value = QSettings().value(RECENT_KEY, [])
    recent = [v for v in (value if isinstance(value, list) else [value]) if v]
    moved = []
    for item in recent:
        path = Path(str(item))  # QSettings gives back what it was given: strings
        if path.is_relative_to(old) and not path.exists() and (new / path.relative_to(old)).exists():
            item = str(new / path.relative_to(old))
        moved.append(item)
    if moved != recent:
        QSettings().setValue(RECENT_KEY, moved)
