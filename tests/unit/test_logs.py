"""core.logs: the rotating log file gets the tracebacks that the one-line CLI messages leave out."""
from __future__ import annotations

import json
import logging
import shutil

import pytest

from maskwork.core import logs
from maskwork.core.cli import run


@pytest.fixture
def log_dir(tmp_path, monkeypatch):
    logs.stop_logging()
    monkeypatch.setenv("MASKWORK_LOG_DIR", str(tmp_path / "logs"))
    yield tmp_path / "logs"
    logs.stop_logging()


def test_the_state_folder_follows_xdg_and_the_override(monkeypatch, tmp_path):
    monkeypatch.delenv("MASKWORK_LOG_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert logs.log_dir() == tmp_path / "state" / "maskwork"
    monkeypatch.setenv("MASKWORK_LOG_DIR", str(tmp_path / "mine"))
    assert logs.log_path() == tmp_path / "mine" / "maskwork.log"


def test_set_up_once_and_rotating(log_dir):
    path = logs.setup_logging("test")
    assert logs.setup_logging("test") == path == log_dir / "maskwork.log"
    handlers = [h for h in logging.getLogger("maskwork").handlers
                if isinstance(h, logging.handlers.RotatingFileHandler)]
    assert len(handlers) == 1 and handlers[0].maxBytes == logs.MAX_BYTES and handlers[0].backupCount == logs.BACKUPS


def test_a_failing_cli_command_logs_its_traceback(log_dir, nuclei_val, tmp_path, capsys):
    """A broken COCO file: stderr gets one line, the log the whole story with the traceback."""
    folder = tmp_path / "p"
    folder.mkdir()
    doc = json.loads(nuclei_val.read_text())
    first = doc["images"][0]
    shutil.copy(nuclei_val.parent / "images" / first["file_name"], folder / first["file_name"])
    doc["images"], doc["annotations"] = [first], [{"id": 1, "image_id": first["id"], "category_id": 999,
                                                   "segmentation": [[0, 0, 5, 0, 5, 5]]}]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert run(["import", str(bad), str(folder)]) == 2
    err = capsys.readouterr().err
    assert "unknown category id 999" in err and "Traceback" not in err
    logs.flush()
    text = (log_dir / "maskwork.log").read_text()
    assert "cli started" in text and "import failed: " in text
    assert "Traceback (most recent call last)" in text and "unknown category id 999" in text
    assert "load_coco" in text  # where it was raised, not only what was said
