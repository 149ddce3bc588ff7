"""CLI progress written to a file or pipe (`main.py evaluate ... 2> log`): plain lines every tenth or 10 s,
never thousands of carriage-return updates; on a terminal the one-line bar stays."""
from __future__ import annotations

import io
import json
import os
import select
import shutil
import subprocess
import sys
from pathlib import Path

from maskwork.core.cli import command_names, registered_names
from maskwork.core.domain import progress as progress_module
from maskwork.core.domain.progress import TextProgress

ROOT = Path(__file__).resolve().parents[2]


def test_a_file_gets_a_line_per_tenth_and_no_carriage_return(tmp_path):
    with open(tmp_path / "log", "w") as fh:
        bar = TextProgress("evaluate", stream=fh)
        for done in range(5001):
            bar(done, 5000, "image")
    text = (tmp_path / "log").read_text()
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0] == "evaluate: 0/5000 (0%) image" and lines[-1] == "evaluate: 5000/5000 (100%) image"
    assert len(lines) == 11


def test_slow_work_gets_a_line_every_ten_seconds(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: clock[0])
    out = io.StringIO()
    bar = TextProgress("train", stream=out)
    for done in range(50):  # 50 steps of 100, one every 3 s: the tenths alone would say nothing for 30 s
        clock[0] = 3.0 * done
        bar(done, 1000, "epoch 1")
    times = [int(line.split("/")[0].split()[-1]) for line in out.getvalue().splitlines()]
    assert times == [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48]  # every 10 s (one step per 3 s)


def test_a_new_phase_starts_a_line():
    out = io.StringIO()
    bar = TextProgress("weights", stream=out)
    bar(0, 3, "download")
    bar(3, 3, "download")
    bar(3, 3, "download")  # said once
    bar(0, 16, "calibration")
    assert out.getvalue().splitlines() == ["weights: 0/3 (0%) download", "weights: 3/3 (100%) download",
                                          "weights: 0/16 (0%) calibration"]


def test_a_terminal_keeps_the_one_line_bar():
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as tty:
        bar = TextProgress("export", stream=tty)
        bar(1, 2, "a")
        bar(2, 2, "b")
    data = b""
    while select.select([leader], [], [], 1.0)[0]:  # a busy machine's pty hands the bytes over in pieces
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the other end is closed and drained
            break
        if not chunk:
            break
        data += chunk
    data = data.decode()
    os.close(leader)
    assert data.replace("\r\n", "\n").count("\r") == 2 and "[" in data  # (the tty turns \n into \r\n)


def test_main_py_import_to_a_log_file_writes_few_lines(tmp_path, nuclei_val):
    doc = json.loads(nuclei_val.read_text())
    folder = tmp_path / "nuclei"
    folder.mkdir()
    for image in doc["images"]:
        shutil.copy(nuclei_val.parent / "images" / image["file_name"], folder / image["file_name"])
    with open(tmp_path / "err.log", "w") as err:
        res = subprocess.run([sys.executable, str(ROOT / "main.py"), "import", str(nuclei_val), str(folder)],
                             stdout=subprocess.PIPE, stderr=err, text=True, timeout=300)
    assert res.returncode == 0, (tmp_path / "err.log").read_text()
    log = (tmp_path / "err.log").read_text()
    assert "\r" not in log
    progress_lines = [line for line in log.splitlines() if line.startswith("reading")]
    assert 2 <= len(progress_lines) <= 12 and progress_lines[-1].startswith("reading val.json: ")


def test_the_command_names_main_py_knows_without_importing_them_are_the_parser_s():
    assert command_names() == registered_names()
