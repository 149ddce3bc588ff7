"""Autosave in two steps (core.store.autosave): capture on the GUI thread, write in a worker. What the window relies
on: the snapshot is the state at the capture, whatever is edited while it is written; with the crash
journal it recovers exactly the last state; a snapshot captured before Discard is never written after it;
one that lands after a later save never comes back over the saved file."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import maskwork.core.editing as ed
from maskwork.core.domain.annotation import Status
from maskwork.core.formats.png import read_classes_json
from maskwork.core.store import autosave
from maskwork.core.store.project import Project


@pytest.fixture
def aerial(tmp_path, aerial_dir):
    root = tmp_path / "aerial"
    root.mkdir()
    names = sorted(p.name for p in (aerial_dir / "images").iterdir())[:2]
    for n in names:
        shutil.copy(aerial_dir / "images" / n, root / n)
    project = Project.create(root, read_classes_json(aerial_dir / "classes.json"), task="semantic")
    return project, names[0]


def _stroke(project, name, y, class_id):
    """A brush stroke as the editor makes it: applied, dirty, journaled."""
    ann = project.annotation(name)
    if ann.corrected.label_map is None:
        ann.new_label_map(np.uint8)
    edit = ed.brush_segment(ann.corrected, (20, y), (200, y), 6, class_id)
    ann.status = Status.CORRECTED
    project.mark_dirty(name)
    project.record_edit(name, edit.bbox)


def test_the_snapshot_is_the_state_at_capture_and_the_journal_adds_the_rest(aerial):
    project, name = aerial
    _stroke(project, name, 30, 1)
    at_capture = project.annotation(name).corrected.label_map.copy()
    snapshot = autosave.capture(project)
    _stroke(project, name, 80, 4)  # painted while the worker encodes and writes
    assert autosave.write(project, snapshot) == [name]
    assert not project.annotation_path(name).exists()  # saved files untouched: the snapshot is under autosave/
    assert np.array_equal(autosave_map(project, name), at_capture)
    final = project.annotation(name).corrected.label_map.copy()
    assert project.journal.flush()
    project.journal.close()  # a crash now
    reopened = Project.open(project.root)
    assert np.array_equal(reopened.annotation(name).corrected.label_map, final)


def autosave_map(project, name):
    import json

    from maskwork.core.store.annotation_json import annotation_from_dict

    doc = json.loads(project.journal_path(name).read_bytes())
    return annotation_from_dict(doc, "snapshot").corrected.label_map


def test_a_snapshot_captured_before_discard_is_never_written(aerial):
    project, name = aerial
    _stroke(project, name, 30, 1)
    snapshot = autosave.capture(project)
    project.discard_unsaved()  # the user chose Discard while the worker was encoding
    assert autosave.write(project, snapshot) == []
    assert not project.journal_path(name).exists()
    assert project.journal.flush()
    assert Project.open(project.root).recovered == []


def test_a_snapshot_written_after_a_save_never_comes_back_over_it(aerial):
    project, name = aerial
    _stroke(project, name, 30, 1)
    snapshot = autosave.capture(project)
    _stroke(project, name, 80, 4)
    project.save()  # the saved file holds both strokes
    saved = project.annotation(name).corrected.label_map.copy()
    autosave.write(project, snapshot)  # the late worker lands its older snapshot
    project.close()
    reopened = Project.open(project.root)
    assert name not in reopened.recovered
    assert np.array_equal(reopened.annotation(name).corrected.label_map, saved)


def test_a_long_log_is_compacted_only_when_nothing_was_journaled_after_the_capture(aerial, monkeypatch):
    import maskwork.core.store.journal.journal as journal_mod

    monkeypatch.setattr(journal_mod, "COMPACT_BYTES", 0)  # every log counts as long
    project, name = aerial
    _stroke(project, name, 30, 1)
    snapshot = autosave.capture(project)
    _stroke(project, name, 80, 4)  # journaled after the capture: the log must stay
    autosave.write(project, snapshot)
    assert project.journal.flush() and project.journal.log_path(name).exists()
    autosave.write(project, autosave.capture(project))  # nothing after this capture: compacted
    assert project.journal.flush() and not project.journal.log_path(name).exists()
    project.journal.close()
    reopened = Project.open(project.root)
    assert reopened.annotation(name).corrected.label_map[80, 100] == 4
