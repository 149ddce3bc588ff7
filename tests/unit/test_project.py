"""core.store.project: lossless round trip, laziness, atomic saves, autosave recovery, crash safety."""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import maskwork.core.store.atomic as atomic
import maskwork.core.store.project as project_mod
from maskwork.core.domain.annotation import ClassList, Layer, PredictionInfo, Source, Status
from maskwork.core.domain.errors import ProjectError
from maskwork.core.formats.coco import load_coco
from maskwork.core.store.project import Project

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def nuclei(nuclei_val):
    """The 3 smallest annotated nuclei images with their true masks."""
    ds = load_coco(nuclei_val)
    anns = sorted((a for a in ds.annotations if a.corrected.instances), key=lambda a: a.width * a.height)[:3]
    return ds, anns


@pytest.fixture
def folder(tmp_path, nuclei):
    ds, anns = nuclei
    root = tmp_path / "proj"
    (root / "sub").mkdir(parents=True)
    src = ds.path.parent / "images"
    shutil.copy(src / anns[0].file_name, root / anns[0].file_name)
    shutil.copy(src / anns[1].file_name, root / anns[1].file_name)
    shutil.copy(src / anns[2].file_name, root / "sub" / anns[2].file_name)
    (root / "notes.txt").write_text("not an image")
    return root


def _fill(project: Project, nuclei) -> dict:
    """Put real masks, a prediction and a label map into the project; return what was put."""
    _ds, anns = nuclei
    names = project.image_names()
    a = project.annotation(names[0])
    src = next(s for s in anns if s.file_name == names[0])
    a.corrected = src.corrected.copy()
    a.prediction = Layer(instances=[i for i in src.corrected.copy().instances[:3]])
    for k, inst in enumerate(a.prediction.instances):
        inst.score, inst.source = 0.9 - k / 10, Source.MODEL
    a.prediction_info = PredictionInfo(model="maskrcnn_resnet50_fpn_v2", int8=True, latency_ms=12.5,
                                       score_threshold=0.5)
    a.status = Status.CORRECTED
    project.mark_dirty(names[0])
    b = project.annotation(names[-1])  # the one in the subfolder: a semantic label map as well
    lm = b.new_label_map()
    lm[10:40, 20:90] = 1
    lm[50:60, :] = 1
    b.status = Status.PREDICTED
    project.mark_dirty(names[-1])
    project.settings["current_image"] = names[-1]
    return {"a": (names[0], a), "b": (names[-1], b)}


def _same_layer(x: Layer, y: Layer) -> bool:
    if (x.label_map is None) != (y.label_map is None):
        return False
    if x.label_map is not None and y.label_map is not None and not (
            x.label_map.dtype == y.label_map.dtype and np.array_equal(x.label_map, y.label_map)):
        return False
    return len(x.instances) == len(y.instances) and all(
        (i.id, i.class_id, i.score, i.source, i.iscrowd) == (j.id, j.class_id, j.score, j.source, j.iscrowd)
        and i.mask == j.mask for i, j in zip(x.instances, y.instances))


def test_image_names_sorted_with_subfolders(folder):
    project = Project.open(folder)
    names = project.image_names()
    assert names == sorted(names) and len(names) == 3
    assert any(n.startswith("sub/") for n in names)
    assert all("\\" not in n and n.endswith(".png") for n in names)


def test_save_reopen_round_trip(folder, nuclei):
    classes = nuclei[0].classes
    project = Project.create(folder, classes, task="instance")
    put = _fill(project, nuclei)
    assert set(project.dirty) == {put["a"][0], put["b"][0]}
    assert sorted(project.save()) == sorted(project.image_names()[i] for i in (0, 2))
    assert project.dirty == []
    again = Project.open(folder)
    assert again.task == "instance" and again.classes == classes
    assert again.settings["current_image"] == put["b"][0]
    for name, ann in put.values():
        back = again.annotation(name)
        assert (back.width, back.height, back.status, back.prediction_info) == (
            ann.width, ann.height, ann.status, ann.prediction_info)
        assert _same_layer(back.corrected, ann.corrected)
        assert (back.prediction is None) == (ann.prediction is None)
        if ann.prediction is not None:
            assert _same_layer(back.prediction, ann.prediction)
    untouched = again.annotation(again.image_names()[1])
    assert untouched.corrected.is_empty() and untouched.status == Status.NOT_STARTED


def test_plain_folder_is_not_written_until_saved(folder):
    before = sorted(p.name for p in folder.rglob("*"))
    project = Project.open(folder, task="semantic", classes=ClassList.from_names(["background", "nucleus"]))
    name = project.image_names()[0]
    assert project.image(name).shape[2] == 3
    project.annotation(name).new_label_map()[:5, :5] = 1
    project.mark_dirty(name)
    assert sorted(p.name for p in folder.rglob("*")) == before and not project.has_store
    project.save()
    assert (folder / ".maskwork" / "project.json").is_file()
    assert Project.open(folder).annotation(name).corrected.label_map[:5, :5].all()


def test_open_reads_nothing_until_asked(folder, nuclei, monkeypatch):
    project = Project.create(folder, nuclei[0].classes, task="instance")
    _fill(project, nuclei)
    project.save()
    calls = []
    monkeypatch.setattr(project_mod, "annotation_from_dict", lambda *a: calls.append("ann") or 1 / 0)
    monkeypatch.setattr(project_mod, "image_size", lambda *a: calls.append("size") or 1 / 0)
    monkeypatch.setattr(project_mod, "read_image", lambda *a: calls.append("image") or 1 / 0)
    opened = Project.open(folder)
    assert len(opened.image_names()) == 3 and calls == []
    with pytest.raises(ZeroDivisionError):
        opened.annotation(opened.image_names()[0])
    assert calls == ["ann"]


def test_annotation_is_shared_while_held(folder, nuclei, monkeypatch):
    monkeypatch.setattr(project_mod, "RECENT_CACHE", 1)
    project = Project.open(folder)
    names = project.image_names()
    held = project.annotation(names[0])
    for n in names[1:] * 3:
        project.annotation(n)
    assert project.annotation(names[0]) is held  # the GUI's object, not a fresh copy from disk


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_failed_write_leaves_saved_files_and_keeps_work(folder, nuclei, monkeypatch):
    project = Project.create(folder, nuclei[0].classes, task="instance")
    put = _fill(project, nuclei)
    project.save()
    before = _snapshot(folder)
    name, ann = put["a"]
    ann.corrected.instances.pop()
    project.mark_dirty(name)

    def full_disk(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", full_disk)
    with pytest.raises(ProjectError, match="disk is full") as err:
        project.save()
    assert "project.json" in str(err.value)
    assert _snapshot(folder) == before  # nothing half-written, no temp file left behind
    assert name in project.dirty and project.annotation(name) is ann
    monkeypatch.undo()
    project.save()
    assert len(Project.open(folder).annotation(name).corrected.instances) == len(ann.corrected.instances)


def test_read_only_folder_says_so_and_save_as_elsewhere(folder, nuclei, monkeypatch, tmp_path):
    project = Project.open(folder, task="instance", classes=nuclei[0].classes)
    put = _fill(project, nuclei)
    before = _snapshot(folder)

    def read_only(*args, **kwargs):
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", read_only)
    with pytest.raises(ProjectError, match="read-only") as err:
        project.save()
    assert str(folder) in str(err.value) and "write to another folder" in str(err.value)
    assert _snapshot(folder) == before and len(project.dirty) == 2
    monkeypatch.undo()
    elsewhere = tmp_path / "store_elsewhere"
    project.save_as(elsewhere)
    assert _snapshot(folder) == before  # the image folder stays untouched
    reopened = Project.open(elsewhere)
    assert reopened.root == folder.resolve() and reopened.image_names() == project.image_names()
    name, ann = put["a"]
    assert _same_layer(reopened.annotation(name).corrected, ann.corrected)
    assert reopened.image(name).shape[:2] == (ann.height, ann.width)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file permissions")
def test_real_read_only_folder(folder, nuclei):
    project = Project.open(folder, task="instance", classes=nuclei[0].classes)
    _fill(project, nuclei)
    folder.chmod(0o555)
    try:
        with pytest.raises(ProjectError, match="read-only"):
            project.save()
        assert not (folder / ".maskwork").exists()
    finally:
        folder.chmod(0o755)


def test_autosave_recovers_after_crash(folder, nuclei):
    project = Project.create(folder, nuclei[0].classes, task="instance")
    put = _fill(project, nuclei)
    project.save()
    saved = _snapshot(folder / ".maskwork" / "annotations")
    name, ann = put["a"]
    ann.corrected.instances = ann.corrected.instances[:2]
    project.classes.add("debris", "#FF0000")
    project.mark_dirty(name)
    assert project.autosave() == [name]
    assert project.autosave() == []  # nothing new since the last journal write
    assert _snapshot(folder / ".maskwork" / "annotations") == saved  # saved files untouched
    del project  # "crash": no save

    recovered = Project.open(folder)
    assert name in recovered.recovered and "project.json" in recovered.recovered
    assert len(recovered.annotation(name).corrected.instances) == 2
    assert "debris" in recovered.classes.names() and name in recovered.dirty
    recovered.save()
    assert not (folder / ".maskwork" / "autosave" / "annotations" / (name + ".json")).exists()
    final = Project.open(folder)
    assert final.recovered == [] and len(final.annotation(name).corrected.instances) == 2


def test_autosave_of_a_plain_folder_is_recovered(folder, nuclei):
    project = Project.open(folder, task="instance", classes=nuclei[0].classes)
    put = _fill(project, nuclei)
    project.autosave()
    again = Project.open(folder)
    assert sorted(again.recovered) == sorted(["project.json", put["a"][0], put["b"][0]])
    assert again.task == "instance" and again.classes == nuclei[0].classes


_SAVER = """
import sys, numpy as np
sys.path.insert(0, {root!r})
from maskwork.core.store.project import Project
p = Project.open({folder!r})
name = p.image_names()[0]
ann = p.annotation(name)
n = 0
while True:
    n += 1
    lm = np.full((ann.height, ann.width), n % 2, np.uint8)
    lm[: n % ann.height] = 1 - n % 2
    ann.corrected.label_map = lm
    p.settings["n"] = n
    p.mark_dirty(name)
    p.save()
    p.autosave() if n % 3 == 0 else None
    if n == 3:
        print("saving", flush=True)
"""


def test_killed_mid_save_never_leaves_a_corrupt_file(folder, nuclei):
    project = Project.create(folder, ClassList.from_names(["background", "nucleus"]), task="semantic")
    name = project.image_names()[0]
    project.annotation(name).new_label_map()
    project.mark_dirty(name)
    project.save()
    code = _SAVER.format(root=str(ROOT), folder=str(folder))
    for delay in (0.05, 0.3, 0.7):
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "saving"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        opened = Project.open(folder)  # every file is either the old or the new one
        lm = opened.annotation(name).corrected.label_map
        assert lm is not None and lm.shape == (opened.annotation(name).height, opened.annotation(name).width)
        assert set(np.unique(lm)) <= {0, 1}
        assert opened.settings["n"] >= 3
        json.loads((folder / ".maskwork" / "project.json").read_text())


_CRASHER = """
import os, signal, sys, numpy as np
sys.path.insert(0, {root!r})
import maskwork.core.store.atomic as atomic
from maskwork.core.store.project import Project
p = Project.open({folder!r})
name = p.image_names()[0]
ann = p.annotation(name)
ann.corrected.label_map[:] = 1
p.mark_dirty(name)
calls = []
def dying(real):
    def step(*args):  # the first calls write project.json; die while writing the annotation
        calls.append(1)
        if len(calls) == {nth}:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args)
    return step
if {point!r} == "fsync":          # temp file written, not yet renamed
    atomic.os.fsync = dying(os.fsync)
elif {point!r} == "replace":      # about to rename
    atomic.os.replace = dying(os.replace)
else:                             # renamed, folder not yet synced
    atomic.fsync_dir = dying(atomic.fsync_dir)
p.save([name])
"""


# os.fsync runs for the temp file and for the folder: project.json takes 2 calls, then the annotation
@pytest.mark.parametrize("point, nth", [("fsync", 3), ("replace", 2), ("fsync_dir", 2)])
def test_crash_at_each_step_of_a_save(folder, point, nth):
    """The process dies at a chosen step of the atomic write: the file is the old one or the new one."""
    project = Project.create(folder, ClassList.from_names(["background", "nucleus"]), task="semantic")
    name = project.image_names()[0]
    project.annotation(name).new_label_map()
    project.mark_dirty(name)
    project.save()
    code = _CRASHER.format(root=str(ROOT), folder=str(folder), point=point, nth=nth)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    leftovers = list((folder / ".maskwork").rglob("*.mwtmp"))
    assert len(leftovers) == (0 if point == "fsync_dir" else 1)  # a killed write may leave its temp file
    lm = Project.open(folder).annotation(name).corrected.label_map
    assert lm is not None and lm.min() == lm.max()  # all 0 (old) or all 1 (new), never a mix or a damaged file
    assert lm.max() == (1 if point == "fsync_dir" else 0)
    assert not list((folder / ".maskwork").rglob("*.mwtmp"))  # ... which the next open removes
    Project.open(folder).save()


def test_many_classes_label_map_and_stale_journal(folder):
    classes = ClassList.from_names([f"c{k}" for k in range(400)])
    project = Project.create(folder, classes, task="semantic")
    name = project.image_names()[0]
    lm = project.annotation(name).new_label_map(np.uint16)
    lm[3:9, 4:30] = 399
    project.mark_dirty(name)
    project.autosave()  # journal written, then the work is saved: the journal is older than the file
    stale = project.journal_path(name)
    stale_bytes = stale.read_bytes()
    project.save()
    lm[0, 0] = 5
    project.mark_dirty(name)
    project.save()
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(stale_bytes)  # as if removing it had failed: it holds older work than the file
    again = Project.open(folder)
    assert again.recovered == []  # the older journal entry does not replace newer saved work
    back = again.annotation(name).corrected.label_map
    assert back.dtype == np.uint16 and np.array_equal(back, lm)


def test_worker_threads_and_autosave_do_not_collide(folder, nuclei):
    """An import job marks images dirty in a worker thread while the GUI timer autosaves and saves."""
    import threading

    project = Project.create(folder, nuclei[0].classes, task="instance")
    names = project.image_names()
    errors = []

    def worker():
        try:
            for k in range(60):
                name = names[k % len(names)]
                ann = project.annotation(name)
                ann.status = Status.CORRECTED
                project.mark_dirty(name)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        project.autosave()
        project.save()
    for t in threads:
        t.join()
    project.save()
    assert errors == [] and project.dirty == []
    again = Project.open(folder)
    assert all(again.annotation(n).status == Status.CORRECTED for n in names) and again.recovered == []


def test_set_annotation_replaces_unsaved_changes(tmp_path, aerial_dir):
    """Importing over an image with unsaved edits must keep the imported annotation, not the old one."""
    import shutil

    from maskwork.core.domain.annotation import ImageAnnotation
    from maskwork.core.store.project import Project

    shutil.copy(aerial_dir / "images" / "tile1_001.jpg", tmp_path / "a.jpg")
    classes = ClassList.from_list(json.loads((aerial_dir / "classes.json").read_text()))  # ids 0-5
    project = Project.open(tmp_path, classes=classes)
    old = project.annotation("a.jpg")
    old.new_label_map()[0, 0] = 3
    project.mark_dirty("a.jpg")
    new = ImageAnnotation("a.jpg", old.width, old.height)
    new.new_label_map()[0, 0] = 5
    project.set_annotation("a.jpg", new)
    assert project.annotation("a.jpg") is new
    project.save()
    assert Project.open(tmp_path).annotation("a.jpg").corrected.label_map[0, 0] == 5
