"""`main.py import` refuses a project another process has open for writing; `export` still reads it."""
from __future__ import annotations

import json
import signal
import subprocess
import sys

from maskwork.core.cli import run
from tests.unit.lock_fixtures import ROOT, holder
from tests.unit.test_cli_io import _snapshot


def test_import_into_a_project_held_by_a_window_is_refused_with_exit_2(nuclei_small, capsys):
    folder, gt, _doc = nuclei_small
    with holder(folder, "Maskwork window") as proc:
        before = _snapshot(folder)
        assert run(["import", str(gt), str(folder)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("maskwork import: error: ")
        assert f"open for writing by Maskwork window (pid {proc.pid} on this computer, since " in err
        assert "close the project there and try again" in err and err.count("\n") == 1
        assert _snapshot(folder) == before
        # the real command line, as a second process: same message, exit code 2
        out = subprocess.run([sys.executable, str(ROOT / "main.py"), "import", str(gt), str(folder)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 2 and f"pid {proc.pid}" in out.stderr and "Traceback" not in out.stderr
        assert _snapshot(folder) == before
        proc.send_signal(signal.SIGKILL)  # the window is killed: its lock is stale now
        proc.wait()
    assert run(["import", str(gt), str(folder)]) == 0
    assert not (folder / ".maskwork" / "lock").exists()  # released when the command ends
    assert len(list((folder / ".maskwork" / "annotations").glob("*.json"))) == len(_doc["images"])


def test_export_reads_a_held_project_and_says_unsaved_work_is_not_in_it(nuclei_small, tmp_path, capsys):
    folder, gt, _doc = nuclei_small
    assert run(["import", str(gt), str(folder)]) == 0
    with holder(folder, "Maskwork window") as proc:
        out = tmp_path / "out.json"
        assert run(["export", str(folder), str(out)]) == 0
        err = capsys.readouterr().err
        assert f"warning: Maskwork window (pid {proc.pid} on this computer" in err and "not exported" in err
        assert len(json.loads(out.read_text())["annotations"]) == len(json.loads(gt.read_text())["annotations"])
        assert json.loads((folder / ".maskwork" / "lock").read_text())["pid"] == proc.pid
