"""Cost of the crash journal: `python -m bench.bench_journal`.

Publishes the "Crash journal" section of docs/BENCHMARKS.md. On the big scenes (bench/big_scene.py:
an 8000 x 6000 label map from real aerial labels, 300 real nuclei instances on 8000 x 6000):
- GUI thread: Project.record_edit right after an edit (what gui/controllers/undo.py calls per step): the capture
  of the changed window / instances and the hand-off to the writer thread;
- disk: time from record_edit until the record is fsynced (journal.flush), and bytes per record.
Goal (issue "Nothing lost"): every completed edit on disk within about a second, without stalling
the GUI thread (record_edit well under a frame, 16 ms, for an edit of usual size).
"""
from __future__ import annotations

import shutil
import time

import numpy as np

from bench.common import Row, Timing, machine, machine_line, ms_text, table, time_it, under_load_note, update_section


def _project(scene):
    from maskwork.core.store.project import Project

    project = Project.create(scene.folder, scene.classes, task=scene.kind)
    project.set_annotation(scene.name, scene.annotation)
    project.save()
    return project


def _edit_and_record(project, name, make_edit):
    edit = make_edit()
    project.mark_dirty(name)
    start = time.perf_counter()
    project.record_edit(name, edit.bbox)
    return (time.perf_counter() - start) * 1000


def semantic_rows() -> list[Row]:
    from bench.big_scene import make_scene
    from maskwork.core import editing as E

    scene = make_scene("semantic")
    project = _project(scene)
    layer = project.annotation(scene.name).corrected
    rows = []
    first = Timing([_edit_and_record(project, scene.name, lambda: E.brush_segment(layer, (10, 10), (40, 20), 20, 3))])
    start = time.perf_counter()
    project.journal.flush()
    first_disk = (time.perf_counter() - start) * 1000
    rows.append(Row("first edit of the image (full 48 MP record): record_edit on the GUI thread",
                    f"{first.median:.1f} ms", "< 16 ms", first.median < 16))
    rows.append(Row("  ... then on disk (encode + append + fsync, writer thread)", f"{first_disk:.0f} ms", "< 1000 ms",
                    first_disk < 1000))
    k = iter(range(10**6))

    def stroke():
        i = next(k)
        x, y = 200 + (i * 37) % 7000, 200 + (i * 53) % 5000
        group = E.EditGroup("Brush")
        for s in range(60):
            group.add(E.brush_segment(layer, (x + 6 * s, y + 2 * s), (x + 6 * s + 6, y + 2 * s + 2), 30, 1 + i % 5))
        return group.finish(layer)

    rec = Timing([_edit_and_record(project, scene.name, stroke) for _ in range(30)])
    rows.append(Row("brush stroke (60 segments, r=30): record_edit on the GUI thread", ms_text(rec), "< 16 ms",
                    rec.p95 < 16))
    size0 = project.journal.log_path(scene.name).stat().st_size if project.journal.flush() else 0
    lat = time_it(lambda: (_edit_and_record(project, scene.name, stroke), project.journal.flush()), runs=15)
    size1 = project.journal.log_path(scene.name).stat().st_size
    rows.append(Row("  ... the edit, record_edit and the wait until fsynced", ms_text(lat), "< 1000 ms",
                    lat.p95 < 1000))
    rows.append(Row("  ... bytes per stroke record", f"{(size1 - size0) / 17:.0f} B", "", None,
                    "the window of the stroke, PNG-compressed (the image is 48 MP)"))
    fill = Timing([_edit_and_record(project, scene.name, lambda: E.flood_fill(layer, (4000 + 50 * i, 3000), 1 + i % 5))
                   for i in range(5)])
    rows.append(Row("flood fill (a large region): record_edit on the GUI thread", ms_text(fill), "< 16 ms",
                    fill.p95 < 16, "copies the filled window"))
    project.close()
    shutil.rmtree(scene.folder, ignore_errors=True)
    return rows


def instance_rows() -> list[Row]:
    from bench.big_scene import make_scene
    from maskwork.core import editing as E

    scene = make_scene("instance")
    project = _project(scene)
    layer = project.annotation(scene.name).corrected
    ids = [i.id for i in layer.instances]
    _edit_and_record(project, scene.name, lambda: E.instance_segment(layer, ids[0], (20, 20), (30, 25), 5))
    project.journal.flush()
    k = iter(range(10**6))

    def extend():
        i = next(k)
        inst = layer.instance(ids[(i * 7) % len(ids)])
        x, y = inst.mask.x0 + 3, inst.mask.y0 + 3
        return E.instance_segment(layer, inst.id, (x, y), (x + 8, y + 5), 4)

    rec = Timing([_edit_and_record(project, scene.name, extend) for _ in range(30)])
    lat = time_it(lambda: (_edit_and_record(project, scene.name, extend), project.journal.flush()), runs=15)
    project.close()
    shutil.rmtree(scene.folder, ignore_errors=True)
    return [Row("instance stroke among 300 instances: record_edit on the GUI thread", ms_text(rec), "< 16 ms",
                rec.p95 < 16, "compares 300 instances by identity"),
            Row("  ... the edit, record_edit and the wait until fsynced", ms_text(lat), "< 1000 ms", lat.p95 < 1000)]


def main() -> None:
    info = machine()
    rows = semantic_rows() + instance_rows()
    print(table(rows))
    body = "\n\n".join([machine_line(info), under_load_note(info["load"], info["cores"]), table(rows),
                        "Run: `python -m bench.bench_journal`. Design: docs/adr/0007-crash-journal.md."])
    update_section("Crash journal", body)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
