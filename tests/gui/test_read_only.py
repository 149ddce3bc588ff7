"""A window on a project that another process has open for writing: read-only, banner, no edits, Retry."""
from __future__ import annotations

import json
import shutil
import signal

import numpy as np
from PySide6.QtCore import Qt

from maskwork.core.store.project import Project
from maskwork.gui.dialogs import messages
from tests.gui.window_helpers import aerial_classes, label_map, stroke, view_pos
from tests.unit.lock_fixtures import holder


def _lock(folder) -> dict:
    return json.loads((folder / ".maskwork" / "lock").read_text())


def _messages(window) -> list[str]:
    seen = []
    window.state.status_message.connect(seen.append)
    return seen


def test_second_window_is_read_only_with_a_banner_and_takes_no_edits(qtbot, window, aerial_folder, aerial_dir,
                                                                     monkeypatch):
    Project.create(aerial_folder, aerial_classes(aerial_dir), "semantic").close()
    errors = []
    monkeypatch.setattr(messages, "show_error", lambda parent, err, title="": errors.append(str(err)))
    with holder(aerial_folder, "Maskwork window") as proc:
        assert window.session.open_path(aerial_folder)
        project = window.state.project
        assert project.read_only and f"pid {proc.pid}" in project.lock_holder
        assert window.banner.isVisible()
        assert f"pid {proc.pid}" in window.banner.text.text() and "Retry" in window.banner.text.text()
        assert not window.actions_["save"].isEnabled() and not window.actions_["import_coco"].isEnabled()

        seen = _messages(window)
        stroke(qtbot, window, [view_pos(window, 50, 50), view_pos(window, 120, 80)])
        window.editor.fill((200, 200))
        window.editor.polygon([(10, 10), (60, 10), (60, 60)])
        window.classes_panel.add_class("crater")
        assert label_map(window) is None  # not one pixel changed
        assert window.state.annotation.corrected.is_empty()
        assert "crater" not in project.classes.names()
        assert len(seen) == 4 and all(m.startswith("Read-only: ") and f"pid {proc.pid}" in m for m in seen)
        assert window.session.unsaved() == [] and not window.windowTitle().startswith("*")

        assert window.session.save() is False  # Ctrl+S reaching the session anyway
        assert len(errors) == 1 and "Nothing was saved" in errors[0] and f"pid {proc.pid}" in errors[0]
        assert _lock(aerial_folder)["pid"] == proc.pid

        assert window.session.retry_write() is False  # still held
        assert window.state.project.read_only and "Still read-only" in seen[-1]

        proc.send_signal(signal.SIGKILL)  # the other window went away (crashed): its lock is stale
        proc.wait()
        qtbot.mouseClick(window.banner.button, Qt.MouseButton.LeftButton)
    project = window.state.project
    assert not project.read_only and not window.banner.isVisible()
    assert window.actions_["save"].isEnabled()
    assert _lock(aerial_folder)["app"] == "Maskwork window" and _lock(aerial_folder)["pid"] != proc.pid
    stroke(qtbot, window, [view_pos(window, 50, 50), view_pos(window, 120, 80)])
    assert label_map(window) is not None and np.any(label_map(window))
    assert window.session.save() and not errors[1:]


def test_closing_the_window_releases_the_lock(qtbot, window, aerial_folder, aerial_dir):
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    assert not window.state.project.read_only and not window.banner.isVisible()
    assert _lock(aerial_folder)["app"] == "Maskwork window"
    window.close()
    assert not (aerial_folder / ".maskwork").exists()  # a plain folder: nothing left behind


def test_opening_another_folder_releases_the_first(qtbot, window, aerial_folder, aerial_dir, tmp_path):
    del window.session.close_project  # the real close (nothing unsaved: no question)
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(sorted(aerial_folder.glob("*.png"))[0], other / "x.png")
    assert window.session.open_path(other, task="semantic", classes=aerial_classes(aerial_dir))
    assert not (aerial_folder / ".maskwork" / "lock").exists()
    assert _lock(other)["app"] == "Maskwork window"
