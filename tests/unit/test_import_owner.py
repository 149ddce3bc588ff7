"""An interrupted `import` knows its owner as the project lock does (pid, process start, boot id), an older
staged import never lands over a later one, and no command reads a half-applied import (issue 19, part 2).

The interrupted imports are real: `main.py import --overwrite` SIGKILLed at a chosen step
(core/store/import_txn.py TEST_KILL_ENV). A "reused pid" is a live child process whose pid the staging folder
and its OWNER are made to name, with another process start time or boot id."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from maskwork.core.cli import run
from maskwork.core.domain.errors import ProjectError
from maskwork.core.store import import_txn
from maskwork.core.store.names import IMPORT_STAGING_DIR
from maskwork.core.store.project import Project

ROOT = Path(__file__).resolve().parents[2]
K = 4  # images the imports replace; staged files: project.json + K annotations
AFTER_COMMIT = K + 2  # kill step right after COMMIT (nothing moved yet)
MID_MOVES = K + 4     # two annotation files moved, the rest (and project.json) still staged: a mix on disk
OWNER_FILE = "OWNER"  # who staged the import, in the lock file's format (core/store/import_txn.py)

# a live process that prints its identity as a lock records it (proc(5): start time is field 22 of
# /proc/<pid>/stat, counted after the ')' that ends the command name), then waits until its stdin closes
CHILD = """
import json, os, socket, sys, time
stat = open(f"/proc/{os.getpid()}/stat").read()
boot = open("/proc/sys/kernel/random/boot_id").read().strip()
print(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "app": "main.py import", "since": time.time(),
                  "proc_start": int(stat[stat.rindex(")") + 2:].split()[19]), "boot_id": boot, "token": "t"}),
      flush=True)
sys.stdin.read()
"""


@pytest.fixture(scope="module")
def scene(nuclei_val, tmp_path_factory):
    """6 nuclei images with old work (every other nucleus, 'nucleus'); import A: every nucleus of the first 4
    ('cell'); import B, later: every third nucleus of the same 4 ('cell')."""
    base = tmp_path_factory.mktemp("owner")
    doc = json.loads(nuclei_val.read_text())
    images = sorted(doc["images"], key=lambda i: i["width"] * i["height"])[:6]
    folder = base / "project"
    folder.mkdir()
    for img in images:
        shutil.copy(nuclei_val.parent / "images" / img["file_name"], folder / img["file_name"])
    by_id = {i["id"]: i["file_name"] for i in images}

    def coco(imgs, keep, name, path):
        ids = {i["id"] for i in imgs}
        anns = [a for a in doc["annotations"] if a["image_id"] in ids and keep(a)]
        path.write_text(json.dumps({"images": imgs, "annotations": anns, "categories": [{"id": 1, "name": name}]}))
        out = {by_id[i["id"]]: set() for i in imgs}
        for a in anns:
            out[by_id[a["image_id"]]].add(a["id"])
        return out

    old = coco(images, lambda a: a["id"] % 2 == 0, "nucleus", base / "old.json")
    new = coco(images[:K], lambda a: True, "cell", base / "a.json")
    later = coco(images[:K], lambda a: a["id"] % 3 == 0, "cell", base / "b.json")
    assert run(["import", str(base / "old.json"), str(folder)]) == 0
    shutil.copytree(folder / ".maskwork", base / "template")
    assert new != later and all(new[n] != old[n] for n in new)
    return {"base": base, "folder": folder, "old": old, "a": new, "b": later}


def _reset(scene) -> Path:
    folder = scene["folder"]
    shutil.rmtree(folder / ".maskwork")
    shutil.copytree(scene["base"] / "template", folder / ".maskwork")
    return folder


def _killed_import(scene, step: int) -> Path:
    """Run import A and SIGKILL it at `step`; returns the staging folder it left."""
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "import", str(scene["base"] / "a.json"),
                           str(scene["folder"]), "--overwrite"], cwd=ROOT, capture_output=True,
                          env={**os.environ, import_txn.TEST_KILL_ENV: str(step)}, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    stages = list((scene["folder"] / ".maskwork" / IMPORT_STAGING_DIR).iterdir())
    assert len(stages) == 1
    return stages[0]


@contextmanager
def live_process():
    """A running process and its identity (pid, host, proc_start, boot_id...) as a lock records it."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield proc, json.loads(proc.stdout.readline())
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()


def _own(stage: Path, info: dict) -> Path:
    """Make the staging folder belong to `info` (folder name and OWNER), as if that process had staged it."""
    moved = stage.with_name(f"{info['pid']}-{stage.name.split('-', 1)[1]}")
    stage.rename(moved)
    (moved / OWNER_FILE).write_text(json.dumps(info))
    return moved


def _exported(scene, capsys, expect_rc: int = 0) -> dict[str, set[int]] | str:
    """Run `export` on the project: the object ids per image it wrote, or (expect_rc != 0) its stderr."""
    out = scene["base"] / "export.json"
    out.unlink(missing_ok=True)
    capsys.readouterr()
    rc = run(["export", str(scene["folder"]), str(out), "--all-images"])
    err = capsys.readouterr().err
    assert rc == expect_rc, err
    if rc:
        assert not out.exists()
        return err
    doc = json.loads(out.read_text())
    names = {i["id"]: i["file_name"] for i in doc["images"]}
    got: dict[str, set[int]] = {n: set() for n in names.values()}
    for a in doc["annotations"]:
        got[names[a["image_id"]]].add(a["id"])
    return got


def _expect(scene, imported: str) -> dict[str, set[int]]:
    return {**scene["old"], **scene[imported]}


@pytest.mark.parametrize("reuse", ["start time", "boot id"])
def test_a_reused_pid_does_not_keep_a_half_applied_import(scene, capsys, reuse):
    """Killed mid-moves; its pid now belongs to another live process: the import is finished at once,
    never reported as 'still being written' while export reads a mix of old and new."""
    _reset(scene)
    stage = _killed_import(scene, MID_MOVES)
    with live_process() as (_proc, info):
        if reuse == "start time":
            info["proc_start"] = (info["proc_start"] or 0) + 12345
        else:
            info["boot_id"] = "0a0a0a0a-another-boot"
        stage = _own(stage, info)
        assert _exported(scene, capsys) == _expect(scene, "a")
        assert not stage.exists()


def test_commands_refuse_while_an_import_is_really_being_written(scene, capsys):
    """The owner is alive (same pid, start time and boot id) and holds the lock: export and import refuse
    with one sentence and exit 2; once it is gone, the next command finishes its import."""
    _reset(scene)
    stage = _killed_import(scene, MID_MOVES)
    with live_process() as (_proc, info):
        stage = _own(stage, info)
        (scene["folder"] / ".maskwork" / "lock").write_text(json.dumps({**info, "token": "live-importer"}))
        err = _exported(scene, capsys, expect_rc=2)
        assert "is being written right now" in err and "wait until that import has finished" in err
        assert run(["import", str(scene["base"] / "b.json"), str(scene["folder"]), "--overwrite"]) != 0
        (scene["folder"] / ".maskwork" / "lock").unlink()  # a library import that takes no lock: refused too
        with pytest.raises(ProjectError, match="being written right now"):
            Project.open(scene["folder"])
        assert stage.is_dir()
    assert _exported(scene, capsys) == _expect(scene, "a")  # its owner is gone now: finished


def test_an_import_owned_by_another_computer_is_refused_with_a_way_out(scene, capsys):
    """A shared folder: Maskwork cannot tell from here whether the other computer still imports."""
    _reset(scene)
    stage = _killed_import(scene, MID_MOVES)
    owner = json.loads((stage / OWNER_FILE).read_text())
    (stage / OWNER_FILE).write_text(json.dumps({**owner, "host": "another-computer"}))
    err = _exported(scene, capsys, expect_rc=2)
    assert "on computer 'another-computer'" in err and f"delete {stage / OWNER_FILE}" in err
    (stage / OWNER_FILE).unlink()  # the user's way out: the next open judges the folder by its (dead) pid
    assert _exported(scene, capsys) == _expect(scene, "a")


def test_a_dead_import_is_not_read_half_applied_by_a_reader_that_may_not_finish_it(scene, capsys):
    """Another program holds the project (so export may not tidy it): the mix is refused, not exported."""
    _reset(scene)
    _killed_import(scene, MID_MOVES)
    with live_process() as (_proc, info):
        (scene["folder"] / ".maskwork" / "lock").write_text(json.dumps({**info, "token": "a-window"}))
        err = _exported(scene, capsys, expect_rc=2)
        assert "interrupted and is not finished yet" in err
    assert _exported(scene, capsys) == _expect(scene, "a")


def test_an_older_staged_import_never_lands_over_a_later_committed_one(scene, capsys):
    """Import A killed after its COMMIT; import B committed later (A's staging set aside meanwhile, as a
    process that misjudged A's owner would have left it): opening applies nothing of A over B."""
    _reset(scene)
    stage = _killed_import(scene, AFTER_COMMIT)
    aside = scene["base"] / "aside"
    shutil.rmtree(aside, ignore_errors=True)
    shutil.move(stage, aside)
    assert run(["import", str(scene["base"] / "b.json"), str(scene["folder"]), "--overwrite"]) == 0
    shutil.move(aside, stage)
    project = Project.open(scene["folder"])
    assert any("was not applied over the newer work" in w for w in project.warnings)
    assert not stage.exists()
    assert _exported(scene, capsys) == _expect(scene, "b")


def test_the_issue_story_reused_pid_then_a_later_import(scene, capsys):
    """Killed mid-moves, pid reused by a live process, then import B, then that process ends: B's work stays
    (before: B ran beside the 'still being written' import, which later rolled its older files over B)."""
    _reset(scene)
    stage = _killed_import(scene, MID_MOVES)
    with live_process() as (_proc, info):
        info["proc_start"] = (info["proc_start"] or 0) + 12345
        _own(stage, info)
        assert run(["import", str(scene["base"] / "b.json"), str(scene["folder"]), "--overwrite"]) == 0
    assert _exported(scene, capsys) == _expect(scene, "b")
