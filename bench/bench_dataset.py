"""Dataset-scale timings: `python -m bench.bench_dataset` (publishes "Dataset scale" in docs/BENCHMARKS.md).

- COCO export (core.formats.coco_export.to_coco + save_json_atomic) and import (core.formats.coco.load_coco) of
  20,000 instances: the real nuclei masks of train.json + val.json, replicated onto extra images
  when fewer than 20,000;
- opening a project of 5,000 small PNGs (Project.open + image_names + first annotation), cold;
- saving a project: 100 real nuclei images with their 4,056 instances, all edited, in one save.
Peak memory of each case is measured in a second pass with tracemalloc (never while timing).
Goals (issue "Performance"): export of 20,000 instances < 3 s; opening 5,000 images < 2 s.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bench.common import (
    DATASETS,
    Row,
    machine,
    machine_line,
    ms_text,
    peak_python_mb,
    table,
    time_it,
    under_load_note,
    update_section,
)

N_INSTANCES = 20_000


def coco_20k():
    """ImageAnnotations holding N_INSTANCES real nuclei masks, and their classes."""
    from maskwork.core.domain.annotation import ImageAnnotation, Layer
    from maskwork.core.formats.coco import load_coco

    sets = [load_coco(DATASETS / "nuclei" / f) for f in ("train.json", "val.json")]
    anns, total, copy = [], 0, 0
    while total < N_INSTANCES:
        for ds in sets:
            for a in ds.annotations:
                if total >= N_INSTANCES:
                    break
                inst = a.corrected.instances[: N_INSTANCES - total]
                if not inst:
                    continue
                name = a.file_name if copy == 0 else f"copy{copy}/{a.file_name}"
                anns.append(ImageAnnotation(name, a.width, a.height, corrected=Layer(instances=list(inst))))
                total += len(inst)
        copy += 1
    return anns, sets[0].classes


def run() -> list[Row]:
    from bench import big_scene
    from maskwork.core.formats.coco import load_coco
    from maskwork.core.formats.coco_export import to_coco
    from maskwork.core.store.atomic import save_json_atomic
    from maskwork.core.store.project import Project

    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_dataset_"))
    try:
        anns, classes = coco_20k()
        n = sum(len(a.corrected.instances) for a in anns)
        out = tmp / "export.json"

        def export():
            save_json_atomic(out, to_coco(anns, classes, mode="rle"))

        t = time_it(export, runs=3, warmup=1)
        mb, _ = peak_python_mb(export)
        rows.append(Row(f"COCO export RLE of {n:,} instances ({len(anns)} images) + atomic save", ms_text(t),
                        "< 3000 ms", t.median < 3000, f"peak +{mb:.0f} MB; file {out.stat().st_size / 1e6:.1f} MB"))
        t = time_it(lambda: load_coco(out), runs=3, warmup=1)
        mb, back = peak_python_mb(lambda: load_coco(out))
        got = sum(len(a.corrected.instances) for a in back.annotations)
        assert got == n, f"import read {got} instances, export wrote {n}"
        rows.append(Row(f"COCO import (load_coco) of those {n:,} instances", ms_text(t), "", None,
                        f"peak +{mb:.0f} MB"))
        sub = anns[:40]
        k = sum(len(a.corrected.instances) for a in sub)
        t = time_it(lambda: to_coco(sub, classes, mode="polygon"), runs=3, warmup=1)
        rows.append(Row(f"COCO export polygons of {k:,} instances", ms_text(t), "", None,
                        f"~{t.median / k * N_INSTANCES / 1000:.0f} s for {N_INSTANCES:,}"))
        del back

        folder = big_scene.png_project(5000, tmp)

        def open_first():
            p = Project.open(folder)
            names = p.image_names()
            return p.annotation(names[0])

        t = time_it(open_first, runs=5, warmup=1)
        mb, _ = peak_python_mb(open_first)
        rows.append(Row("open a 5,000-PNG project + names + first annotation", ms_text(t), "< 2000 ms",
                        t.median < 2000, f"peak +{mb:.0f} MB"))

        rows.append(_project_save(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def _project_save(tmp: Path) -> Row:
    from maskwork.core.domain.annotation import ClassList
    from maskwork.core.formats.coco import load_coco
    from maskwork.core.store.project import Project

    val = load_coco(DATASETS / "nuclei" / "val.json")
    folder = tmp / "nuclei"
    folder.mkdir()
    for a in val.annotations:
        shutil.copy(DATASETS / "nuclei" / "images" / a.file_name, folder / a.file_name)
    project = Project.create(folder, ClassList.from_names(["background", "nucleus"]), task="instance")
    for a in val.annotations:
        project.set_annotation(a.file_name, a)
    names = [a.file_name for a in val.annotations]

    def save_all():
        for name in names:
            project.mark_dirty(name)
        project.save()

    t = time_it(save_all, runs=3, warmup=1)
    n = sum(len(a.corrected.instances) for a in val.annotations)
    return Row(f"project save: {len(names)} edited images, {n:,} instances (atomic, fsync)", ms_text(t), "", None)


def main() -> None:
    info = machine()
    rows = run()
    print(table(rows))
    body = "\n\n".join([
        machine_line(info), under_load_note(info["load"], info["cores"]), table(rows),
        "Run: `python -m bench.bench_dataset`. Instances are the real nuclei masks of "
        "../shared/datasets/nuclei (train + val), replicated onto extra image entries up to 20,000."])
    update_section("Dataset scale", body)


if __name__ == "__main__":
    main()
