"""core.editing.history: a Qt-free editor is crash-safe on its own. A child process edits a copy of the
real nuclei images through core alone (push, undo, redo), is killed with SIGKILL before any save, and the
next Project.open gives back exactly what it had; the history's own rules (redo dropped by a push,
the saved point, the status an undo gives back) on the same data in-process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import maskwork.core.editing as ed
from maskwork.core.domain.annotation import Status
from maskwork.core.editing.history import EditHistory
from maskwork.core.store.project import Project
from tests.unit.test_journal import layer_digest, nuclei_project, nuclei_small  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def nuclei_root(nuclei_project) -> tuple[Path, dict]:  # noqa: F811 (the fixture, imported above)
    """The two nuclei images as a saved project, closed: the child opens it for writing."""
    project, truth = nuclei_project
    project.close()
    return project.root, truth


def test_a_killed_headless_editor_gets_every_edit_back(nuclei_root, nuclei_val):
    root, _truth = nuclei_root
    child = subprocess.Popen([sys.executable, "-m", "tests.unit.headless_history_child", str(root), str(nuclei_val)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.startswith("ready "), line + child.stderr.read()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    expected = dict(part.split("=") for part in line.split()[1:])
    first, second = sorted(expected)

    project = Project.open(root)
    assert not project.annotation_path(first).exists()  # nothing was saved: all of it came from the journal
    assert first in project.recovered and project.recovered_edits[first] == 11  # 8 steps, 2 undos, 1 redo
    for name, digest in expected.items():
        assert layer_digest(project.annotation(name)) == digest, name
    assert project.annotation(first).status is Status.CORRECTED
    assert project.annotation(second).corrected.is_empty()
    assert project.annotation(second).status is Status.NOT_STARTED  # every step undone: the status it had


def test_undo_redo_and_the_saved_point(nuclei_root):
    root, truth = nuclei_root
    project = Project.open(root)
    name = sorted(truth)[0]
    ann = project.annotation(name)
    history = EditHistory(project, name, ann)
    assert history.push(None) is None and len(history) == 0  # a stroke that changed nothing is no step
    masks = [i.mask for i in truth[name].corrected.instances[:3]]
    history.push(ed.create_instance(ann.corrected, masks[0], 1))
    assert ann.status is Status.CORRECTED and name in project.dirty
    project.save()
    history.mark_saved()
    history.push(ed.create_instance(ann.corrected, masks[1], 1))
    assert not history.is_clean
    assert history.undo() and history.is_clean and len(ann.corrected.instances) == 1
    assert history.undo() and not history.is_clean and ann.status is Status.NOT_STARTED
    assert ann.corrected.is_empty()
    assert history.redo() and history.is_clean and ann.status is Status.CORRECTED
    history.push(ed.create_instance(ann.corrected, masks[2], 1))  # the undone second object is gone for good
    assert not history.can_redo and len(history) == 2
    assert history.undo() and history.is_clean  # the saved state is still one step back
    assert history.redo() and not history.redo()
    assert [i.mask.crop.sum() for i in ann.corrected.instances] == [masks[0].crop.sum(), masks[2].crop.sum()]
    assert history.nbytes > 0
    project.close()


def test_an_unsaved_class_list_is_the_stores_to_know_not_the_windows(nuclei_root):
    """A headless editor adding a class sees it unsaved until a save, and a crash brings it back unsaved."""
    root, _truth = nuclei_root
    project = Project.open(root, writer="test")
    assert not project.classes_unsaved
    project.classes.add("debris")
    project.classes_changed()
    assert project.classes_unsaved
    project.journal.flush()  # the journaled class list is on disk; nothing is saved
    project._writer_lock.release()  # noqa: SLF001 - the lock a killed process leaves is taken over the same way
    again = Project.open(root, writer="test")
    assert "debris" in [c.name for c in again.classes] and again.classes_unsaved
    again.save()
    assert not again.classes_unsaved
    again.close()
