"""Peak memory of the benchmarked cases: `python -m bench.bench_memory` (publishes "Memory").

Each case runs in a fresh process (`python -m bench.bench_memory --case NAME`) so its peak resident
memory (getrusage max RSS) is its own: "before" is the RSS once the modules are imported and the
input is built, "peak" the maximum RSS at the end, "added" their difference (what the case costs).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import (
    ROOT,
    Row,
    machine,
    machine_line,
    max_rss_mb,
    peak_python_mb,
    rss_mb,
    table,
    update_section,
)


def _window_case(kind: str):
    from bench import big_scene

    scene = big_scene.make_scene(kind)
    big_scene.app()
    from maskwork.gui.main_window import MainWindow  # noqa: F401  (imported before "before")

    def go():
        qapp, window = big_scene.open_window(scene)
        editor = window.editor
        if kind == "semantic":
            editor.state.set_current_class(3)
            editor.begin_stroke((2000, 2000), erase=False)
            for k in range(100):
                editor.stroke_to((2000 + 6 * k, 2000 + 2 * k), (2006 + 6 * k, 2002 + 2 * k))
            editor.end_stroke()
        qapp.processEvents()
        return f"undo records {editor.undo_memory() / 1e6:.1f} MB"

    return go, lambda: shutil.rmtree(scene.folder, ignore_errors=True)


def _empty_window():
    from bench import big_scene

    big_scene.app()
    from maskwork.gui.main_window import MainWindow

    def go():
        big_scene.quiet_dialogs()
        w = MainWindow()
        w.show()
        big_scene.settle(big_scene.app())
        return "after the model panel's start-up worker (it imports torch)"

    return go, lambda: None


def _many_images():
    from bench import big_scene

    folder = big_scene.png_project(5000)
    big_scene.app()
    from maskwork.gui.main_window import MainWindow

    def go():
        big_scene.quiet_dialogs()
        w = MainWindow()
        w.show()
        w.session.open_path(folder)
        big_scene.settle(big_scene.app())
        return ""

    return go, lambda: shutil.rmtree(folder, ignore_errors=True)


def _coco(which: str):
    from bench.bench_dataset import coco_20k
    from maskwork.core.formats.coco import load_coco
    from maskwork.core.formats.coco_export import to_coco
    from maskwork.core.store.atomic import save_json_atomic

    tmp = Path(tempfile.mkdtemp(prefix="bench_mem_"))
    out = tmp / "export.json"
    if which == "import":
        anns, classes = coco_20k()
        save_json_atomic(out, to_coco(anns, classes))
        del anns
        go = lambda: f"{sum(len(a.corrected.instances) for a in load_coco(out).annotations)} instances"  # noqa: E731
    else:
        anns, classes = coco_20k()
        go = lambda: save_json_atomic(out, to_coco(anns, classes)) or "20,000 instances"  # noqa: E731
    return go, lambda: shutil.rmtree(tmp, ignore_errors=True)


CASES = {  # name -> (description, builder returning (work, cleanup))
    "window": ("main window, no project", _empty_window),
    "semantic": ("8000 x 6000 image open with correction + prediction, 100-segment stroke",
                 lambda: _window_case("semantic")),
    "instance": ("8000 x 6000 image, 300 + 300 nuclei instances open", lambda: _window_case("instance")),
    "many": ("5,000-image project open in the window", _many_images),
    "coco_export": ("COCO export of 20,000 instances (input already in memory)", lambda: _coco("export")),
    "coco_import": ("COCO import of 20,000 instances", lambda: _coco("import")),
}


def one_case(name: str) -> dict:
    work, cleanup = CASES[name][1]()
    try:
        before = rss_mb()
        if name.startswith("coco"):  # building the input peaks higher than the case: count the case only
            added, note = peak_python_mb(work)
            return {"before": before, "peak": before + added, "note": f"{note}; tracemalloc peak"}
        note = work()
        return {"before": before, "peak": max_rss_mb(), "note": note or ""}
    finally:
        cleanup()


def run() -> list[Row]:
    rows = []
    for name, (label, _) in CASES.items():
        out = subprocess.run([sys.executable, "-m", "bench.bench_memory", "--case", name], cwd=ROOT,
                             capture_output=True, text=True, timeout=900)
        line = [x for x in out.stdout.splitlines() if x.startswith("{")]
        if out.returncode != 0 or not line:
            rows.append(Row(label, "failed", "", None, (out.stderr or out.stdout)[-200:].replace("\n", " ")))
            continue
        r = json.loads(line[-1])
        rows.append(Row(label, f"peak {r['peak']:.0f} MB", "", None,
                        f"added {r['peak'] - r['before']:.0f} MB over {r['before']:.0f} MB before; {r['note']}"))
    return rows


def main() -> None:
    if "--case" in sys.argv:
        print(json.dumps(one_case(sys.argv[sys.argv.index("--case") + 1])))
        return
    info = machine()
    rows = run()
    print(table(rows))
    body = "\n\n".join([
        machine_line(info), table(rows),
        "Run: `python -m bench.bench_memory`. Peak = max resident set size of a fresh process per case "
        "(Qt's pixmaps and the overlay tiles included); tracemalloc peaks of the COCO and project cases "
        "are in \"Dataset scale\". A 48 MP RGB image alone is 144 MB; its label map 48 MB; a fully "
        "covered overlay 192 MB (tiles are allocated only where the layer has content). Most of the "
        "empty window's cost is torch + torchvision, imported by the model panel's worker that lists the "
        "models."])
    update_section("Memory", body)


if __name__ == "__main__":
    main()
