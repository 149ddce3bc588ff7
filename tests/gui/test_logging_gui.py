"""Logging in the app (issue 14): a failing worker's traceback, and a bug in a slot, land in the log file
while the user sees a one-line message; Help > Open log folder opens where it is."""
from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from maskwork.core import logs
from maskwork.core.domain.errors import InputError
from maskwork.core.formats.coco import load_coco
from maskwork.gui.workers import Job, start


@pytest.fixture
def log_file(tmp_path, monkeypatch):
    logs.stop_logging()
    monkeypatch.setenv("MASKWORK_LOG_DIR", str(tmp_path / "logs"))
    path = logs.setup_logging("app")
    yield path
    logs.stop_logging()


def _read_project_masks(path):
    return load_coco(path)  # a real reader, fed a file that is not COCO


def _broken_step(project_root):
    return {"images": 3}["annotations"] + project_root  # a bug: KeyError deep in a worker


def run_job(qtbot, fn, *args):
    job = Job(fn, *args, pass_progress=False)
    with qtbot.waitSignal(job.signals.failed, timeout=10_000) as failed:
        start(job)
    logs.flush()
    return failed.args[0]


def test_a_failing_workers_traceback_lands_in_the_log(qtbot, log_file, nuclei_folder):
    shown = run_job(qtbot, _broken_step, str(nuclei_folder))
    assert shown.startswith("Unexpected error: KeyError")
    text = log_file.read_text()
    assert "job _broken_step failed unexpectedly" in text
    assert "Traceback (most recent call last)" in text and "in _broken_step" in text
    assert "KeyError: 'annotations'" in text


def test_a_user_error_in_a_worker_is_logged_with_where_it_came_from(qtbot, log_file, nuclei_folder):
    not_coco = sorted(nuclei_folder.glob("*.png"))[0]
    shown = run_job(qtbot, _read_project_masks, not_coco)
    assert "Traceback" not in shown  # the dialog gets the sentence
    text = log_file.read_text()
    assert "job _read_project_masks failed" in text and "Traceback (most recent call last)" in text
    assert "in load_coco" in text or "in read_json" in text


def test_a_bug_in_a_slot_is_logged_and_shown(qtbot, window, log_file, monkeypatch):
    from maskwork.gui import app
    from maskwork.gui.dialogs import messages

    shown = []
    monkeypatch.setattr(messages, "show_error", lambda parent, error: shown.append(error))
    previous = sys.excepthook
    monkeypatch.setattr(sys, "excepthook", lambda *a: None)  # pytest's own hook is not what is tested
    try:
        app._install_excepthook(window)
        try:
            raise InputError("the slot failed")
        except InputError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
    finally:
        sys.excepthook = previous
    logs.flush()
    assert [str(e) for e in shown] == ["the slot failed"]
    text = log_file.read_text()
    assert "uncaught exception" in text and "InputError: the slot failed" in text and "Traceback" in text


def test_help_open_log_folder(qtbot, window, log_file, monkeypatch):
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    window.actions_["log_folder"].trigger()
    assert opened == [QUrl.fromLocalFile(str(log_file.parent))] and log_file.parent.is_dir()
    assert "Open &log folder" in [a.text() for a in window.menus["Help"].actions()]
