"""Child of tests/unit/test_headless_history.py: a headless editor (core alone, no Qt) edits a project
through core.editing.history, undoes and redoes, makes sure the journal is on disk, prints what the
layers look like and waits to be killed."""
from __future__ import annotations

import sys
import time

import maskwork.core.editing as ed
from maskwork.core.editing.history import EditHistory
from maskwork.core.formats.coco import load_coco
from maskwork.core.store.project import Project
from tests.unit.test_journal import layer_digest


def edit(folder: str, coco_json: str) -> dict[str, str]:
    truth = {a.file_name: a for a in load_coco(coco_json).annotations}
    project = Project.open(folder, writer="headless test")
    first, second = project.image_names()[:2]

    ann = project.annotation(first)
    history = EditHistory(project, first, ann)
    for inst in truth[first].corrected.instances[:5]:
        history.push(ed.create_instance(ann.corrected, inst.mask, 1))
    ids = [i.id for i in ann.corrected.instances]
    history.push(ed.delete_instances(ann.corrected, [ids[1]]))
    history.push(ed.merge_instances(ann.corrected, [ids[2], ids[3]]))
    assert history.undo() and history.undo()  # merge and delete undone
    assert history.redo()                     # delete again; the merge stays undone
    history.push(ed.instance_segment(ann.corrected, ids[0], (3, 3), (30, 20), 4))  # drops the undone merge
    assert not history.can_redo

    other = project.annotation(second)
    other_history = EditHistory(project, second, other)
    for inst in truth[second].corrected.instances[:2]:
        other_history.push(ed.create_instance(other.corrected, inst.mask, 1))
    while other_history.undo():  # every step of the second image undone: it is as it was, status included
        pass

    assert project.journal.flush()
    return {first: layer_digest(ann), second: layer_digest(other)}


if __name__ == "__main__":
    digests = edit(sys.argv[1], sys.argv[2])
    print("ready", " ".join(f"{name}={digest}" for name, digest in digests.items()), flush=True)
    time.sleep(600)  # killed here by the parent, nothing saved
