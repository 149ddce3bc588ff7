"""Is the project folder still where it was? A project folder renamed while an import runs made the
import write into a new, empty `<old name>/.maskwork` and report success (issue 19). The import takes
the identity (device, inode) of the folder that holds the store before it writes, and checks it again
before its commit point."""
from __future__ import annotations

import os
from pathlib import Path

from maskwork.core.domain.errors import ProjectError


def _moved(store: Path) -> ProjectError:
    return ProjectError(f"the project folder {store.parent} was moved or renamed during the import, so nothing "
                        "was imported; run the import again on the folder's new path.")


def store_identity(store: Path) -> tuple[int, int]:
    """(device, inode) of the folder holding `store`; ProjectError when it is gone (moved or renamed)."""
    try:
        st = os.stat(store.parent)
    except FileNotFoundError:
        raise _moved(store) from None
    return st.st_dev, st.st_ino


def _same(store: Path, identity: tuple[int, int]) -> bool:
    try:
        return store_identity(store) == identity
    except ProjectError:
        return False


def check_same_store(store: Path, identity: tuple[int, int]) -> None:
    """Before the commit point: the store is still in the folder the import began in."""
    if not _same(store, identity):
        raise _moved(store)


def remove_ghost(store: Path, identity: tuple[int, int]) -> None:
    """The empty folders a failed import made at the old path (rmdir: never a folder with anything in it)."""
    if _same(store, identity):
        return
    for folder in (store, store.parent):
        try:
            folder.rmdir()
        except OSError:
            return
