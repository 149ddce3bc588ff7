"""Ctrl+S on big images (issue 14, no stall): the files are written in a worker while the window keeps
processing events; autosave stands aside meanwhile; errors keep their meaning (gui/controllers/saving.py)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer

from maskwork.core.domain.errors import ProjectError
from maskwork.core.store.project import Project
from maskwork.gui.controllers import saving
from maskwork.gui.dialogs import messages
from tests.gui.test_no_stall import BIG, aerial_big  # noqa: F401 (fixture)


def _edit_big_images(window, folder) -> dict[str, np.ndarray]:
    assert window.session.open_path(folder)
    project = window.state.project
    want = {}
    for k, name in enumerate(BIG[:2]):  # two 3.7 MP images: above saving.WORKER_PIXELS together
        ann = project.annotation(name)
        ann.new_label_map()
        ann.corrected.label_map[100 + k : 900, 200 : 1500 - k] = 2 + k
        project.mark_dirty(name)
        want[name] = ann.corrected.label_map.copy()
    return want


def test_a_big_save_runs_in_a_worker_while_the_window_stays_alive(qtbot, window, aerial_big):  # noqa: F811
    want = _edit_big_images(window, aerial_big)
    session, seen = window.session, []

    def tick() -> None:  # what the event loop does meanwhile: timers fire, autosave is asked to run
        session.autosave()
        seen.append((session.saving, session.autosaver.busy))

    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(tick)
    timer.start()
    assert session.save()
    timer.stop()
    assert seen and all(saving_now and not busy for saving_now, busy in seen)  # events ran; no autosave
    assert not session.saving and window.state.project.dirty == []
    window.state.project.close()
    again = Project.open(aerial_big, read_only=True)
    for name, label_map in want.items():
        assert np.array_equal(again.annotation(name).corrected.label_map, label_map)


def test_a_failing_big_save_says_why_and_keeps_the_work(qtbot, window, aerial_big, monkeypatch):  # noqa: F811
    want = _edit_big_images(window, aerial_big)
    errors = []
    monkeypatch.setattr(messages, "show_error", lambda parent, err, title="": errors.append(str(err)))
    monkeypatch.setattr(window.session, "save_elsewhere", lambda folder=None: False)  # the user cancels it

    def full_disk(names=None):
        raise ProjectError("no space left on device")

    monkeypatch.setattr(window.state.project, "save", full_disk)
    assert not window.session.save()
    assert errors and "no space left" in errors[0] and "Nothing is lost" in errors[0]  # ProjectError's advice
    assert sorted(window.state.project.dirty) == sorted(want) and not window.session.saving
    assert saving.WORKER_PIXELS < sum(a.size for a in want.values())  # it did take the worker path
