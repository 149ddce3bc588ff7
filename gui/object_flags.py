"""Visibility and locks of objects and classes (the Objects panel's eyes and padlocks).

Neither ever changes a mask. Hidden objects are left out of the overlays, the boxes and the canvas
hit tests for this session only: a reopened project shows everything (an object hidden yesterday
and forgotten would look deleted). Locks protect reviewed work, so they persist in the project's
settings (`settings["locks"]` in .maskwork/project.json, journaled like the class list) and travel
with the project. Editor._guard passes every edit through `vet` (core/editing/locks.py): what an
edit did to a locked object is taken back and the status bar says why. See docs/adr/0015.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from maskwork.core.editing.locks import EditLocks, restrict
from maskwork.core.view.objects import hide_classes, visible_layer

SETTINGS_KEY = "locks"


class ObjectFlags(QObject):
    changed = Signal(object)  # (x0, y0, x1, y1) of the current image to repaint, or None: everything

    def __init__(self, state) -> None:
        super().__init__(state)
        self.state = state
        self.hidden_classes: set[int] = set()
        self.locked_classes: set[int] = set()
        self._hidden: dict[str, set[int]] = {}  # image name -> instance ids
        self._locked: dict[str, set[int]] = {}
        state.project_changed.connect(self._load)

    # ---- queries ----------------------------------------------------------------------------
    def hidden_ids(self, name: str | None = None) -> set[int]:
        return self._hidden.get(name or self.state.current_name, set())

    def locked_ids(self, name: str | None = None) -> set[int]:
        return self._locked.get(name or self.state.current_name, set())

    def is_hidden(self, inst) -> bool:
        return inst.id in self.hidden_ids() or inst.class_id in self.hidden_classes

    def is_locked(self, inst) -> bool:
        return inst.id in self.locked_ids() or inst.class_id in self.locked_classes

    def edit_locks(self) -> EditLocks:
        return EditLocks(frozenset(self.locked_ids()), frozenset(self.locked_classes))

    def visible(self, layer, by_id: bool = True):
        """`layer` as drawn: without hidden instances (ids count on the corrected layer only)."""
        return visible_layer(layer, self.hidden_ids() if by_id else (), self.hidden_classes)

    def lut(self, lut):
        return hide_classes(lut, self.hidden_classes)

    # ---- changes ----------------------------------------------------------------------------
    def set_hidden(self, instance_id: int, hidden: bool, bbox=None) -> None:
        if _toggle(self._hidden.setdefault(self.state.current_name, set()), instance_id, hidden):
            self.changed.emit(bbox)

    def set_class_hidden(self, class_id: int, hidden: bool) -> None:
        if _toggle(self.hidden_classes, class_id, hidden):
            self.changed.emit(None)

    def set_locked(self, instance_id: int, locked: bool) -> None:
        if _toggle(self._locked.setdefault(self.state.current_name, set()), instance_id, locked):
            self._store()

    def set_class_locked(self, class_id: int, locked: bool) -> None:
        if _toggle(self.locked_classes, class_id, locked):
            self._store()

    def forget(self, names) -> None:
        """The objects of `names` were replaced (an import): their ids name other objects now, so their
        per-object locks and hiding go (class locks stay)."""
        names = set(names)
        for flags in (self._hidden, self._locked):
            for name in names & flags.keys():
                del flags[name]
        if names & set(self._stored_objects()):
            self._store()
        else:
            self.changed.emit(None)

    def show_all(self) -> None:
        self.hidden_classes.clear()
        self._hidden.clear()
        self.changed.emit(None)

    def vet(self, edit, layer):
        """What may stay of an applied edit (Editor._guard); says in the status bar what was kept."""
        if edit is None or layer is None:
            return edit
        kept, why = restrict(edit, layer, self.edit_locks())
        if why:
            self.state.status_message.emit(f"Locked: {why}, so {'part of ' if kept is not None else ''}this edit "
                                           "was not applied; unlock it in the Objects panel to edit it.")
        return kept

    # ---- persistence -------------------------------------------------------------------------
    def _load(self) -> None:
        """A project was opened: everything shown again, its locks read back from its settings."""
        self.hidden_classes, self._hidden = set(), {}
        self.locked_classes, self._locked = set(), {}
        p = self.state.project
        saved = p.settings.get(SETTINGS_KEY) if p is not None else None
        if isinstance(saved, dict):
            self.locked_classes = _ids(saved.get("classes"))
            objects = saved.get("objects")
            if isinstance(objects, dict):
                self._locked = {str(k): _ids(v) for k, v in objects.items() if _ids(v)}
        self.changed.emit(None)

    def _stored_objects(self) -> dict:
        p = self.state.project
        saved = p.settings.get(SETTINGS_KEY) if p is not None else None
        objects = saved.get("objects") if isinstance(saved, dict) else None
        return objects if isinstance(objects, dict) else {}

    def _store(self) -> None:
        p = self.state.project
        if p is not None:
            objects = {name: sorted(ids) for name, ids in sorted(self._locked.items()) if ids}
            p.settings[SETTINGS_KEY] = {"classes": sorted(self.locked_classes), "objects": objects}
            p.journal_classes()  # on disk with the class list; saved with the project
        self.changed.emit(None)


def _toggle(ids: set[int], key: int, on: bool) -> bool:
    if (key in ids) == bool(on):
        return False
    (ids.add if on else ids.discard)(int(key))
    return True


def _ids(value) -> set[int]:
    """Ids from settings written by another version or by hand: anything else is ignored."""
    if not isinstance(value, list):
        return set()
    return {int(v) for v in value if isinstance(v, int) and not isinstance(v, bool)}
