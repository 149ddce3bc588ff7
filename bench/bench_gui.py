"""Start-up and navigation timings of the desktop app: `python -m bench.bench_gui`.

Publishes the "Start-up and navigation" section of docs/BENCHMARKS.md.
- start-up: `python main.py <project>` in a fresh process (offscreen Qt, throwaway settings) until
  the window is shown and until the project is open, read from the MASKWORK_STARTUP_PROBE stamps
  that gui/app.py prints (the only hook the app has for this);
- opening a 5,000-image project in the window (Session.open_path, the image list filled);
- switching images (Session.open_image, as D / A and the image list do) between real aerial images
  with corrections and predictions, and to / away from an 8000 x 6000 image.
- start-up beside labelme under a real X server on the 63-image aerial project (bench/startup_x11.py).
Goals (issue "Performance"): start-up to a visible window < 2 s; opening a 5,000-image project < 2 s.
Issue 14: the window with the first image within 1.0 s and at most 350 MB resident until a model runs.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import startup_x11
from bench.common import (
    ROOT,
    Row,
    Timing,
    machine,
    machine_line,
    ms_text,
    table,
    time_each,
    time_it,
    under_load_note,
    update_section,
)

STARTUP_RUNS = 5


def startup(project: Path, runs: int = STARTUP_RUNS) -> tuple[Timing, Timing]:
    """(launch -> window shown, launch -> project open) over `runs` fresh processes after one warm-up."""
    shown, ready = Timing(), Timing()
    home = Path(tempfile.mkdtemp(prefix="bench_home_"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MASKWORK_STARTUP_PROBE="exit", HOME=str(home),
               XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
    try:
        for k in range(runs + 1):
            start = time.time()
            out = subprocess.run([sys.executable, str(ROOT / "main.py"), str(project)], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=120)
            stamps = {}
            for line in out.stdout.splitlines():
                if line.startswith("MASKWORK_STARTUP_PROBE"):
                    _, what, when = line.split()
                    stamps[what] = (float(when) - start) * 1000
            if "ready" not in stamps:
                raise RuntimeError(f"main.py printed no start-up stamp (rc {out.returncode}):\n"
                                   f"{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
            if k > 0:  # the first run fills the OS file cache
                shown.samples_ms.append(stamps["shown"])
                ready.samples_ms.append(stamps["ready"])
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return shown, ready


def run() -> list[Row]:
    from bench import big_scene

    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_gui_"))
    try:
        aerial = big_scene.aerial_project(tmp)
        many = big_scene.png_project(5000, tmp)
        for label, folder in (("12 aerial images + one 48 MP", aerial), ("5,000 PNGs", many)):
            shown, ready = startup(folder)
            rows.append(Row(f"start-up to a visible window (`main.py` project of {label})", ms_text(shown),
                            "< 2000 ms", shown.median < 2000, "fresh process: interpreter, imports, window"))
            rows.append(Row(f"start-up until the project's first image is shown ({label})", ms_text(ready),
                            "", None, "panels imported, project opened, first image on the canvas"))
        rows += startup_x11.rows(*startup_x11.side_by_side())  # under Xvfb, beside labelme

        qapp = big_scene.app()
        big_scene.quiet_dialogs()
        from maskwork.gui.main_window import MainWindow

        window = MainWindow()
        window.show()
        big_scene.settle(qapp)

        def open_many():
            window.session.open_path(many)
            qapp.processEvents()

        t = time_it(open_many, runs=3, warmup=1)
        rows.append(Row("open a 5,000-image project in the window", ms_text(t), "< 2000 ms", t.median < 2000,
                        "Project.open + image list + first image"))

        window.session.open_path(aerial)
        big_scene.settle(qapp)
        session = window.session
        names = [n for n in window.state.project.image_names() if n != "big.jpg"]
        steps = []
        for k in range(1, 3 * len(names)):
            name = names[k % len(names)]
            steps.append(lambda n=name: (session.open_image(n), qapp.processEvents()))
        t = time_each(steps)
        rows.append(Row("switch image (real aerial 0.3-0.5 MP with correction + prediction)", ms_text(t), "", None,
                        "read image, overlays, IoU panel, autosave check"))
        t = time_it(lambda: (session.open_image("big.jpg"), session.loader.wait()), runs=3, warmup=0,
                    setup=lambda: (session.open_image(names[0]), session.loader.wait()))
        rows.append(Row("switch to the 8000 x 6000 image (correction + prediction), until shown", ms_text(t), "",
                        None, "decode + overlays + IoU in a worker, the previous image stays meanwhile; the GUI "
                              "thread's share is in \"GUI-thread stalls\""))

        def edit_big():
            session.open_image("big.jpg")
            session.loader.wait()
            window.editor.set_radius(8)
            window.editor.begin_stroke((100, 100), erase=False)
            window.editor.stroke_to((100, 100), (140, 120))
            window.editor.end_stroke()

        t = time_it(lambda: session.open_image(names[0]), runs=3, warmup=0, setup=edit_big)
        rows.append(Row("switch away from the edited 48 MP image", ms_text(t), "", None,
                        "its autosave snapshot is copied here, encoded and written in a worker"))
        window.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main() -> None:
    info = machine()
    rows = run()
    print(table(rows))
    ours = [r for r in rows if r.case.startswith("Maskwork:") and r.ok is not None]
    verdict = ("Issue 14 (window with the first image <= 1.0 s, <= 350 MB until a model runs, under X): "
               + ("; ".join(f"{r.case.split(': ', 1)[1].split(',')[0]} {'met' if r.ok else 'missed'} ({r.value})"
                            for r in ours) or "not measured"))
    body = "\n\n".join([
        machine_line(info), under_load_note(info["load"], info["cores"]), verdict, table(rows),
        "Run: `python -m bench.bench_gui`. Start-up is measured from launching `python main.py <project>` "
        "(offscreen Qt) to the stamps gui/app.py prints when MASKWORK_STARTUP_PROBE is set; median of "
        f"{STARTUP_RUNS} fresh processes after one warm-up run. The side by side with labelme "
        "(bench/startup_x11.py) runs both programs under Xvfb on the same 63-image aerial project (fresh "
        "process, throwaway HOME, alternating, one warm-up each) and watches the window title with xdotool; "
        "memory is the process's VmRSS."])
    update_section("Start-up and navigation", body)


if __name__ == "__main__":
    main()
