"""`import --overwrite` is all or nothing on disk: killed at any moment, the project holds the old work
or the new, never a mix (core/store/import_txn.py, rolled forward or back by Project.open)."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maskwork.core.cli import run
from maskwork.core.domain.errors import ProjectError
from maskwork.core.store import import_txn
from maskwork.core.store.names import IMPORT_STAGING_DIR
from maskwork.core.store.project import Project

ROOT = Path(__file__).resolve().parents[2]
N_IMAGES = 12


@pytest.fixture(scope="module")
def scene(nuclei_val, tmp_path_factory):
    """A project of 12 nuclei images + 1 more, with old corrected work (every other nucleus, class
    'nucleus'), and a COCO file whose import replaces it (every nucleus, class 'cell')."""
    base = tmp_path_factory.mktemp("atomic")
    doc = json.loads(nuclei_val.read_text())
    images = sorted(doc["images"], key=lambda i: i["width"] * i["height"])[:N_IMAGES + 1]
    folder = base / "project"
    folder.mkdir()
    for img in images:
        shutil.copy(nuclei_val.parent / "images" / img["file_name"], folder / img["file_name"])

    def coco(imgs, keep, name):
        ids = {i["id"] for i in imgs}
        anns = [a for a in doc["annotations"] if a["image_id"] in ids and keep(a)]
        return {"images": imgs, "annotations": anns, "categories": [{"id": 1, "name": name}]}

    old = coco(images, lambda a: a["id"] % 2 == 0, "nucleus")
    new = coco(images[:N_IMAGES], lambda a: True, "cell")
    (base / "old.json").write_text(json.dumps(old))
    (base / "new.json").write_text(json.dumps(new))
    assert run(["import", str(base / "old.json"), str(folder)]) == 0
    template = base / "store-template"
    shutil.copytree(folder / ".maskwork", template)
    by_name = {i["id"]: i["file_name"] for i in images}

    def expected(d, cid):
        out = {by_name[i["id"]]: set() for i in d["images"]}
        for a in d["annotations"]:
            out[by_name[a["image_id"]]].add((a["id"], cid))
        return out

    # new annotations get class 2: 'cell' is added next to the project's 'nucleus' (id 1)
    return {"folder": folder, "template": template, "new_json": base / "new.json",
            "old": expected(old, 1), "new": expected(new, 2), "extra": by_name[images[-1]["id"]]}


def _reset(scene) -> Path:
    folder = scene["folder"]
    shutil.rmtree(folder / ".maskwork")
    shutil.copytree(scene["template"], folder / ".maskwork")
    return folder


def _state(scene) -> tuple[str, Project]:
    """'old' or 'new' after opening; fails on any mix of the two."""
    project = Project.open(scene["folder"])
    seen = {name: {(i.id, i.class_id) for i in project.annotation(name).corrected.instances}
            for name in scene["new"]}
    classes = project.classes.names()
    assert {(i.id, i.class_id) for i in project.annotation(scene["extra"]).corrected.instances} == \
        scene["old"][scene["extra"]], "an image outside the import changed"
    if classes == ["nucleus"] and all(seen[n] == scene["old"][n] for n in seen):
        return "old", project
    if classes == ["nucleus", "cell"] and all(seen[n] == scene["new"][n] for n in seen):
        return "new", project
    mixed = sorted(n for n in seen if seen[n] != scene["old"][n])
    pytest.fail(f"a mix after a killed import: classes {classes}, {len(mixed)} of {len(seen)} images new")


def _cli(scene, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), "import", str(scene["new_json"]),
                             str(scene["folder"]), "--overwrite"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, **env})


def test_successful_import_leaves_a_clean_project(scene):
    folder = _reset(scene)
    project = Project.open(folder)
    from maskwork.core.formats.coco import load_coco
    from maskwork.core.formats.coco_project import import_coco

    import_coco(project, load_coco(scene["new_json"]), overwrite=True)
    assert project.dirty
    written = import_txn.commit(project)
    assert sorted(written) == sorted(scene["new"]) and project.dirty == []
    assert not (folder / ".maskwork" / IMPORT_STAGING_DIR).exists()
    state, again = _state(scene)
    assert state == "new" and again.warnings == [] and again.dirty == []


# steps: 1..13 stage project.json + 12 annotations, 14 = after COMMIT, 15..27 the moves
@pytest.mark.parametrize("kill_at, outcome", [(1, "old"), (7, "old"), (13, "old"), (14, "new"), (15, "new"),
                                              (20, "new"), (27, "new")])
def test_sigkill_at_each_phase(scene, kill_at, outcome):
    folder = _reset(scene)
    proc = _cli(scene, **{import_txn.TEST_KILL_ENV: str(kill_at)})
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert (folder / ".maskwork" / IMPORT_STAGING_DIR).is_dir()  # the kill left a transaction behind
    state, project = _state(scene)
    assert state == outcome
    word = "undone" if outcome == "old" else "finished"
    assert len(project.warnings) == 1 and word in project.warnings[0]
    assert not (folder / ".maskwork" / IMPORT_STAGING_DIR).exists()
    assert _state(scene)[1].warnings == []  # told once


def _wait_for_writing(folder: Path, proc: subprocess.Popen) -> float:
    """Block until the import starts writing (staging folder, or project.json replaced as the old code
    did); returns the time it was seen. Lets kills land among the writes, whatever the machine's speed."""
    store = folder / ".maskwork"
    inode = (store / "project.json").stat().st_ino
    while proc.poll() is None:
        try:
            if (store / IMPORT_STAGING_DIR).exists() or (store / "project.json").stat().st_ino != inode:
                break
        except FileNotFoundError:
            pass
        time.sleep(0.001)
    return time.monotonic()


def test_sigkill_at_random_moments(scene):
    """24 kills at seeded random moments from when the import starts writing: half plain (spread over
    the writes of an undisturbed run), half with a 10 ms pause per step so that they land inside the
    transaction. Each time the project must hold all the old work or all the new."""
    rng = random.Random(9)
    _reset(scene)
    proc = _cli(scene)
    seen = _wait_for_writing(scene["folder"], proc)
    assert proc.wait(timeout=60) == 0
    writing = max(time.monotonic() - seen, 0.01)  # how long the writes take here
    outcomes = []
    for k in range(24):
        folder = _reset(scene)
        paused = k % 2 == 1
        proc = _cli(scene, **({import_txn.TEST_DELAY_ENV: "0.01"} if paused else {}))
        _wait_for_writing(folder, proc)
        time.sleep(rng.uniform(0, 0.6 if paused else writing))  # 27 steps x (10 ms + an fsync) when paused
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        state, project = _state(scene)
        outcomes.append((state, "finished" if any("finished" in w for w in project.warnings) else
                         "undone" if any("undone" in w for w in project.warnings) else "-"))
    print("outcomes of the kills:", outcomes)  # for the log: how many landed mid-transaction
    assert {s for s, _ in outcomes} <= {"old", "new"}


def test_failed_write_before_commit_changes_nothing(scene, monkeypatch):
    folder = _reset(scene)
    project = Project.open(folder)
    from maskwork.core.formats.coco import load_coco
    from maskwork.core.formats.coco_project import import_coco

    import_coco(project, load_coco(scene["new_json"]), overwrite=True)
    calls = []

    def full_disk(path, data):
        calls.append(path)
        if len(calls) == 5:
            raise ProjectError(f"cannot write {path}: No space left on device; the disk is full.")
        return real(path, data)

    real = import_txn.write_bytes_atomic
    monkeypatch.setattr(import_txn, "write_bytes_atomic", full_disk)
    with pytest.raises(ProjectError, match="disk is full"):
        import_txn.commit(project)
    assert sorted(project.dirty) == sorted(scene["new"])  # the work is still in memory
    assert not (folder / ".maskwork" / IMPORT_STAGING_DIR).exists()
    state, reopened = _state(scene)
    assert state == "old" and reopened.warnings == []


def test_a_running_import_is_left_alone(scene):
    """Another window opening the project mid-import must not roll that import back under its feet (nor read
    its files half-written): the open is refused. A folder just made has no OWNER yet; its pid decides."""
    folder = _reset(scene)
    stage = folder / ".maskwork" / IMPORT_STAGING_DIR / f"{os.getppid()}-{time.time_ns()}"  # our parent is alive
    (stage / "files").mkdir(parents=True)
    with pytest.raises(ProjectError, match="being written right now"):
        Project.open(folder)
    assert stage.is_dir()
    shutil.rmtree(stage.parent)


def test_damaged_commit_file_is_reported(scene):
    folder = _reset(scene)
    stage = folder / ".maskwork" / IMPORT_STAGING_DIR / "999999999-1"
    stage.mkdir(parents=True)
    (stage / import_txn.COMMIT).write_text('{"format": "maskwork-import-commit", "files": ["../../x"]}')
    with pytest.raises(ProjectError, match="COMMIT is damaged.*delete that folder"):
        Project.open(folder)
    shutil.rmtree(stage.parent)
