"""One writer per project (core/store/project_lock.py): two real processes, stale and foreign locks, takeover races."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.errors import ProjectError
from maskwork.core.store import project_lock
from maskwork.core.store.project import Project
from maskwork.core.store.project_lock import ProjectLockedError
from tests.unit.lock_fixtures import ROOT, holder, stop


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def classes(aerial_dir) -> ClassList:
    return ClassList.from_list(json.loads((aerial_dir / "classes.json").read_text()))


@pytest.fixture
def plain(tmp_path, aerial_dir) -> Path:
    """A plain folder with one real aerial image (no .maskwork yet)."""
    folder = tmp_path / "plain"
    folder.mkdir()
    shutil.copy(aerial_dir / "images" / "tile1_001.jpg", folder / "a.jpg")
    return folder


@pytest.fixture
def saved(plain, classes) -> Path:
    """The same folder as a saved project with the aerial classes."""
    Project.create(plain, classes, "semantic").close()
    return plain


def _write_lock(folder: Path, **fields) -> Path:
    doc = {"pid": 4242, "host": socket.gethostname(), "app": "Maskwork window", "since": time.time() - 3600,
           "proc_start": None, "boot_id": None, "token": "old0000000000000"}
    doc.update(fields)
    path = folder / ".maskwork" / "lock"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_class_added_by_the_holder_survives_a_second_writer(saved, classes):
    """The fault: the second process's save rewrote project.json without the holder's new class."""
    add_and_save = "p.classes.add('crater', '#ff00ff'); p.save()"
    with holder(saved, "Maskwork window", add_and_save) as proc:
        other = Project.open(saved)  # as the second window opened before the fix
        before = _snapshot(saved)
        other.settings["current_image"] = "a.jpg"
        with pytest.raises(ProjectLockedError) as err:
            other.save()
        assert f"pid {proc.pid}" in str(err.value) and "Maskwork window" in str(err.value)
        with pytest.raises(ProjectLockedError):
            other.autosave()
        assert _snapshot(saved) == before  # nothing written
    names = [c["name"] for c in json.loads((saved / ".maskwork" / "project.json").read_text())["classes"]]
    assert "crater" in names


def test_second_writer_is_refused_and_read_only_saves_nothing(saved, tmp_path):
    with holder(saved, "main.py import") as proc:
        with pytest.raises(ProjectLockedError) as err:
            Project.open(saved, writer="test")
        msg = str(err.value)
        assert f"main.py import (pid {proc.pid} on this computer, since " in msg
        assert str(saved) in msg and "close the project there" in msg
        assert err.value.holder.pid == proc.pid

        ro = Project.open(saved, read_only=True)
        assert ro.read_only and f"pid {proc.pid}" in ro.lock_holder
        ann = ro.annotation("a.jpg")
        ann.new_label_map()[0, 0] = 1
        ro.mark_dirty("a.jpg")
        before = _snapshot(saved)
        for attempt in (ro.save, ro.autosave, lambda: ro.save_as(tmp_path / "elsewhere")):
            with pytest.raises(ProjectError) as err:
                attempt()
            assert "read-only" in str(err.value) and f"pid {proc.pid}" in str(err.value)
        assert _snapshot(saved) == before
        assert not (tmp_path / "elsewhere").exists()
        ro.close()
        assert json.loads((saved / ".maskwork" / "lock").read_text())["pid"] == proc.pid  # still theirs


def test_lock_is_released_on_close_and_at_exit(plain, classes):
    with holder(plain) as proc:
        assert json.loads((plain / ".maskwork" / "lock").read_text())["pid"] == proc.pid
        stop(proc)  # exits without closing the project: atexit releases
    assert not (plain / ".maskwork").exists()  # the plain folder is as it was

    project = Project.open(plain, task="semantic", classes=classes, writer="test")
    assert (plain / ".maskwork" / "lock").is_file()  # a plain folder is locked too: no race at the first save
    again = Project.open(plain, writer="test")       # same process: shared, not refused
    again.close()
    assert (plain / ".maskwork" / "lock").is_file()
    project.save()
    project.close()
    assert sorted(p.name for p in (plain / ".maskwork").iterdir()) == ["project.json"]


def test_lock_of_a_killed_holder_is_taken_over(saved):
    with holder(saved) as proc:
        proc.send_signal(signal.SIGKILL)
        for _ in range(500):  # not reaped on purpose: a zombie holds nothing either
            if (project_lock._proc_stat(proc.pid) or ("Z",))[0] == "Z":
                break
            time.sleep(0.01)
        assert json.loads((saved / ".maskwork" / "lock").read_text())["pid"] == proc.pid  # left behind
        with Project.open(saved, writer="test") as project:
            lock = json.loads((saved / ".maskwork" / "lock").read_text())
            assert lock["pid"] == os.getpid() and lock["app"] == "test"
            project.save()


@pytest.mark.parametrize("case", ["dead pid", "reused pid", "rebooted"])
def test_stale_lock_on_this_host_is_taken_over(saved, case):
    if case == "dead pid":
        _write_lock(saved, pid=_dead_pid())
    else:
        live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        start = project_lock._proc_start(live.pid)
        boot = project_lock._boot_id()
        if start is None or boot is None:
            live.kill()
            live.wait()
            pytest.skip("no /proc on this system")
        if case == "reused pid":  # the pid now belongs to a process that started at another time
            _write_lock(saved, pid=live.pid, proc_start=start + 1, boot_id=boot)
        else:
            _write_lock(saved, pid=live.pid, proc_start=start, boot_id="another-boot")
    try:
        with Project.open(saved, writer="test") as project:
            assert json.loads((saved / ".maskwork" / "lock").read_text())["pid"] == os.getpid()
            project.save()
    finally:
        if case != "dead pid":
            live.kill()
            live.wait()


def test_lock_of_a_live_process_with_its_real_start_time_holds(saved):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _write_lock(saved, pid=live.pid, proc_start=project_lock._proc_start(live.pid),
                    boot_id=project_lock._boot_id())
        with pytest.raises(ProjectLockedError):
            Project.open(saved, writer="test")
    finally:
        live.kill()
        live.wait()


def test_lock_from_another_host_is_reported_never_broken(saved):
    path = _write_lock(saved, host="imaging-pc-7", pid=4242, since=time.mktime((2026, 11, 3, 9, 15, 0, 0, 0, -1)))
    before = path.read_bytes()
    with pytest.raises(ProjectLockedError) as err:
        Project.open(saved, writer="test")
    msg = str(err.value)
    assert "pid 4242 on computer 'imaging-pc-7', since 2026-11-03 09:15:00" in msg
    assert f"delete {path}" in msg and "cannot check" in msg
    ro = Project.open(saved, read_only=True)
    assert "imaging-pc-7" in ro.lock_holder
    with pytest.raises(ProjectLockedError):
        Project.open(saved).save()
    assert path.read_bytes() == before  # never broken silently
    path.unlink()  # what the message tells the user to do
    Project.open(saved, writer="test").close()


def test_damaged_lock_file(saved, monkeypatch):
    path = saved / ".maskwork" / "lock"
    path.write_bytes(b"")  # a holder killed between creating and writing it
    monkeypatch.setattr(project_lock, "WAIT_S", 0.2)
    with pytest.raises(ProjectError) as err:  # young: maybe being written right now
        Project.open(saved, writer="test")
    assert f"{path} is damaged" in str(err.value) and "delete it" in str(err.value)
    old = time.time() - 3600
    os.utime(path, (old, old))
    with Project.open(saved, writer="test"):
        assert json.loads(path.read_text())["pid"] == os.getpid()


def test_a_lock_taken_from_us_is_never_written_over_nor_deleted(saved):
    project = Project.open(saved, writer="test")
    path = _write_lock(saved, host="imaging-pc-7")  # someone deleted ours and another machine took it
    with pytest.raises(ProjectLockedError) as err:
        project.save()
    assert "imaging-pc-7" in str(err.value) and "another folder" in str(err.value)
    project.close()
    assert json.loads(path.read_text())["host"] == "imaging-pc-7"


RACER = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from maskwork.core.store.project_lock import acquire, ProjectLockedError
gate = Path(sys.argv[3])
print("ready", flush=True)
while not (gate / "go").exists():
    time.sleep(0.005)
try:
    lock = acquire(Path(sys.argv[2]), "racer")
except ProjectLockedError:
    print("lost", flush=True)
    sys.exit(0)
print("won" if lock is not None else "none", flush=True)
while not (gate / "release").exists():
    time.sleep(0.01)
"""


@pytest.mark.parametrize("stale", [False, True])
def test_of_many_processes_racing_for_the_lock_exactly_one_wins(saved, tmp_path, stale):
    if stale:
        _write_lock(saved, pid=_dead_pid())
    gate = tmp_path / "gate"
    gate.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(ROOT), str(saved / ".maskwork"), str(gate)],
                              stdout=subprocess.PIPE, text=True) for _ in range(6)]
    try:
        assert [p.stdout.readline().strip() for p in procs] == ["ready"] * 6
        (gate / "go").touch()
        results = sorted(p.stdout.readline().strip() for p in procs)
    finally:
        (gate / "release").touch()
        for p in procs:
            p.wait(timeout=30)
            p.stdout.close()
    assert results == ["lost"] * 5 + ["won"]


def test_a_late_taker_never_removes_the_lock_of_the_taker_that_won(saved):
    """Two takers judged the same lock stale; the one that comes late must leave the winner's lock alone."""
    path = _write_lock(saved, pid=_dead_pid())
    key = project_lock._stale_key(path, project_lock._parse(path.read_text()))
    assert key == "old0000000000000"
    breaker = path.with_name(f"lock.break-{key}")
    breaker.touch()  # another taker is removing it right now
    project_lock._take_over(path, key)
    assert path.exists()
    breaker.unlink()
    with Project.open(saved, writer="winner"):  # the winner takes over: a fresh lock
        project_lock._take_over(path, key)      # the late taker, with its old judgement
        assert json.loads(path.read_text())["app"] == "winner"


def test_a_window_holding_a_png_training_folder_does_not_turn_it_into_a_project(aerial_dir, tmp_path):
    """The lock makes .maskwork/ in a plain folder: training must still read images/ + masks/ there."""
    from maskwork.core.training.datasets import load_data
    from tests.unit.training_fixtures import small_aerial

    folder = small_aerial(aerial_dir, tmp_path / "pngs")
    with holder(folder):
        assert (folder / ".maskwork" / "lock").is_file()
        data = load_data(folder)
    assert data.task == "semantic" and len(data.items) == 3
