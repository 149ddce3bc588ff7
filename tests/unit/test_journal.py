"""core.store.journal: every completed edit survives a crash, replayed exactly; torn tails, snapshots, Discard."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

import maskwork.core.editing as ed
import maskwork.core.store.journal.journal as journal_mod
from maskwork.core.domain.annotation import ClassList, Layer, Status
from maskwork.core.formats.coco import load_coco
from maskwork.core.formats.png import read_classes_json, read_label_png
from maskwork.core.store.project import Project


def layer_digest(ann) -> str:
    """Everything of the corrected layer a user could see, as one hash."""
    h = hashlib.sha256(str(ann.status.value).encode())
    lm = ann.corrected.label_map
    h.update(b"none" if lm is None else lm.tobytes() + str(lm.dtype).encode())
    for i in ann.corrected.instances:
        h.update(repr((i.id, i.class_id, i.score, i.box, i.source.value, i.iscrowd, i.mask.x0, i.mask.y0,
                       i.mask.crop.shape)).encode())
        h.update(np.packbits(i.mask.crop).tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def nuclei_small(nuclei_val):
    ds = load_coco(nuclei_val)
    return ds, sorted((a for a in ds.annotations if len(a.corrected.instances) > 5),
                      key=lambda a: a.width * a.height)[:2]


@pytest.fixture
def nuclei_project(tmp_path, nuclei_small):
    ds, anns = nuclei_small
    root = tmp_path / "nuclei"
    root.mkdir()
    for a in anns:
        shutil.copy(ds.path.parent / "images" / a.file_name, root / a.file_name)
    project = Project.create(root, ds.classes, task="instance")
    return project, {a.file_name: a for a in anns}


@pytest.fixture
def aerial_project(tmp_path, aerial_dir):
    root = tmp_path / "aerial"
    root.mkdir()
    names = sorted(p.name for p in (aerial_dir / "images").iterdir())[:2]
    for n in names:
        shutil.copy(aerial_dir / "images" / n, root / n)
    classes = read_classes_json(aerial_dir / "classes.json")
    return Project.create(root, classes, task="semantic"), aerial_dir, names


def _edit(project, name, edit):
    """What the GUI does after an edit: dirty + journal."""
    assert edit is not None
    project.annotation(name).status = Status.CORRECTED
    project.mark_dirty(name)
    project.record_edit(name, edit.bbox)
    return edit


def _reopen(project) -> Project:
    assert project.journal.flush()
    project.journal.close()  # a crash: nothing saved, the writer simply stops
    return Project.open(project.root)


def test_semantic_strokes_fill_undo_and_accept_are_replayed_pixel_for_pixel(aerial_project):
    project, aerial_dir, names = aerial_project
    name = names[0]
    ann = project.annotation(name)
    ann.new_label_map()
    truth = read_label_png(aerial_dir / "masks" / (Path(name).stem + ".png"))
    ann.prediction = Layer(label_map=truth.astype(np.uint8))
    project.mark_dirty(name)
    project.save()  # the model's prediction is saved (a prediction is not an edit; autosave keeps it)
    _edit(project, name, ed.brush_segment(ann.corrected, (10, 10), (200, 120), 9, 3))
    fill = _edit(project, name, ed.flood_fill(ann.corrected, (300, 300), 4))
    _edit(project, name, ed.fill_polygon(ann.corrected, [(5, 5), (90, 8), (60, 70)], 1))
    fill.undo(ann.corrected)  # Ctrl+Z: the undone state is what must come back
    project.record_edit(name, fill.bbox)
    expected = layer_digest(ann)
    reopened = _reopen(project)
    assert name in reopened.recovered and reopened.recovered_edits[name] == 4
    assert layer_digest(reopened.annotation(name)) == expected
    assert name in reopened.dirty
    # the session goes on after recovery: accept the prediction, crash again
    ann2 = reopened.annotation(name)
    _edit(reopened, name, ed.replace_layer(ann2.corrected, ann2.prediction))
    _edit(reopened, name, ed.brush_segment(ann2.corrected, (50, 50), (60, 400), 5, 2))
    expected2 = layer_digest(ann2)
    again = _reopen(reopened)
    assert layer_digest(again.annotation(name)) == expected2
    assert again.annotation(names[1]).corrected.is_empty()  # nothing else changed


def test_instance_create_delete_merge_reclass_are_replayed(nuclei_project):
    project, truth = nuclei_project
    name = sorted(truth)[0]
    ann = project.annotation(name)
    h, w = ann.height, ann.width
    for inst in truth[name].corrected.instances[:6]:
        _edit(project, name, ed.create_instance(ann.corrected, inst.mask, 1))
    ids = [i.id for i in ann.corrected.instances]
    _edit(project, name, ed.delete_instances(ann.corrected, [ids[1]]))
    _edit(project, name, ed.merge_instances(ann.corrected, [ids[2], ids[3]]))
    _edit(project, name, ed.instance_segment(ann.corrected, ids[0], (3, 3), (30, 20), 4))
    project.classes.add("debris", "#FF0000")
    project.journal_classes()
    debris = project.classes.by_name("debris").id
    _edit(project, name, ed.set_instance_class(ann.corrected, [ids[4]], debris))
    _edit(project, name, ed.polygon_instance(ann.corrected, [(1, 1), (20, 2), (10, 25)], 1, h, w))
    expected = layer_digest(ann)
    reopened = _reopen(project)
    assert layer_digest(reopened.annotation(name)) == expected
    assert "debris" in reopened.classes.names()
    assert [i.id for i in reopened.annotation(name).corrected.instances] == [i.id for i in ann.corrected.instances]


def test_a_torn_last_record_loses_only_that_edit(aerial_project):
    project, _aerial, names = aerial_project
    name = names[0]
    ann = project.annotation(name)
    ann.new_label_map()
    states = []
    for k in range(5):
        _edit(project, name, ed.brush_segment(ann.corrected, (20 + 30 * k, 15), (25 + 30 * k, 200), 6, k % 5 + 1))
        states.append(layer_digest(ann))
    assert project.journal.flush()
    project.journal.close()
    log = project.journal.log_path(name)
    data = log.read_bytes()
    for cut in (len(data) - 1, len(data) - 40, len(data) - 200):
        log.write_bytes(data[:cut])
        got = layer_digest(Project.open(project.root).annotation(name))
        assert got == states[-2]  # every record before the torn one, nothing of it
    log.write_bytes(data)


@pytest.mark.parametrize("compact_bytes", [0, 8 << 20])  # the log restarts at the snapshot / goes on
def test_snapshots_never_replay_a_log_twice_or_drop_later_edits(aerial_project, monkeypatch, compact_bytes):
    monkeypatch.setattr(journal_mod, "COMPACT_BYTES", compact_bytes)
    project, _aerial, names = aerial_project
    name = names[0]
    ann = project.annotation(name)
    ann.new_label_map()
    _edit(project, name, ed.brush_segment(ann.corrected, (10, 10), (100, 100), 8, 2))
    assert project.journal.flush()  # compaction looks at the log on disk: let the writer get there first
    assert project.autosave() == [name]
    assert project.journal.flush()
    assert project.journal.log_path(name).exists() == (compact_bytes > 0)
    _edit(project, name, ed.brush_segment(ann.corrected, (100, 10), (10, 100), 8, 5))
    expected = layer_digest(ann)
    reopened = _reopen(project)
    assert layer_digest(reopened.annotation(name)) == expected
    # a snapshot that holds the whole log (also when killed before dropping it) is never overwritten by it
    ann2 = reopened.annotation(name)
    _edit(reopened, name, ed.brush_segment(ann2.corrected, (5, 300), (300, 300), 4, 1))
    ann2.corrected.label_map[:50] = 0  # not journaled: only the snapshot holds it
    reopened.mark_dirty(name)
    reopened.journal.rotate = lambda _name: None  # the kill lands before any drop
    reopened.autosave()
    expected = layer_digest(ann2)
    assert reopened.journal.flush() and reopened.journal.log_path(name).exists()  # both on disk
    final = _reopen(reopened)
    assert name not in final.recovered_edits
    assert layer_digest(final.annotation(name)) == expected


def test_save_clears_the_journal_and_discard_forgets_the_unsaved_work(aerial_project):
    project, _aerial, names = aerial_project
    a, b = names
    project.annotation(a).new_label_map()
    _edit(project, a, ed.brush_segment(project.annotation(a).corrected, (10, 10), (100, 100), 8, 2))
    project.save()
    saved = layer_digest(project.annotation(a))
    assert project.journal.flush() and not any(project.journal.folder.rglob("*.log"))
    _edit(project, a, ed.brush_segment(project.annotation(a).corrected, (100, 10), (10, 100), 8, 5))
    project.annotation(b).new_label_map()
    _edit(project, b, ed.brush_segment(project.annotation(b).corrected, (1, 1), (50, 50), 3, 1))
    project.classes.add("crater", "#00FF00")
    project.journal_classes()
    project.autosave()
    project.discard_unsaved()
    project.close()
    reopened = Project.open(project.root)
    assert reopened.recovered == [] and reopened.dirty == []
    assert layer_digest(reopened.annotation(a)) == saved
    assert reopened.annotation(b).corrected.is_empty()
    assert "crater" not in reopened.classes.names()


def test_temp_files_of_killed_saves_are_removed_on_open(aerial_project):
    project, _aerial, names = aerial_project
    store = project.store
    junk = [store / ".project.json.x1.mwtmp", store / "annotations" / ("." + names[0] + ".json.x2.mwtmp")]
    for path in junk:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a file")
    Project.open(project.root)
    assert not any(p.exists() for p in junk)


def test_a_stroke_on_a_big_image_journals_its_window_not_the_image(tmp_path):
    """Records cost the edit: a stroke on a 6000x4000 image writes a window, not the image."""
    root = tmp_path / "big"
    root.mkdir()
    import cv2
    cv2.imwrite(str(root / "big.png"), np.zeros((4000, 6000, 3), np.uint8))
    project = Project.create(root, ClassList.from_list([{"id": 0, "name": "unlabeled", "color": "#000000"},
                                                         {"id": 1, "name": "a", "color": "#FF0000"}]))
    ann = project.annotation("big.png")
    ann.new_label_map()
    _edit(project, "big.png", ed.brush_segment(ann.corrected, (100, 100), (120, 110), 5, 1))  # full first record
    size_first = project.journal.flush() and project.journal.log_path("big.png").stat().st_size
    _edit(project, "big.png", ed.brush_segment(ann.corrected, (3000, 2000), (3010, 2004), 5, 1))
    project.journal.flush()
    second = project.journal.log_path("big.png").stat().st_size - size_first
    assert second < 2000  # the window of the stroke, compressed
    expected = layer_digest(ann)
    assert layer_digest(_reopen(project).annotation("big.png")) == expected
