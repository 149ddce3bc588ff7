"""Stalls of the GUI thread: `python -m bench.bench_stall` -> docs/BENCHMARKS.md "GUI-thread stalls".

The real MainWindow (offscreen, every panel) does each job the way a user starts it, while a 10 ms
timer on the GUI thread (bench/stall_probe.py) records how late it fires: the worst lateness is the
longest moment the window could not repaint or take a key. Goal (issue 14): no stall over 50 ms.
When a case misses the goal, the table names where the GUI thread was during its long stalls (a
sampler thread looks at its stack), so the gap is stated with its cause.

Data: two real aerial images of each tile (0.28-3.7 MP) with their real label maps as corrections and
shifted ones as predictions, bench/big_scene's 8000 x 6000 = 48 MP scene, and a 4000 x 3000 = 12 MP
one made the same way (the autosave case of the issue).
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from bench import big_scene
from bench.common import DATASETS, Row, load_average, machine, machine_line, table, under_load_note, update_section
from bench.stall_probe import StallProbe, spin_for, spin_until

GOAL_MS = 50
REPEAT = 3  # the short cases run this often; their row gives the median run's worst stall and the max
MID = "mid.jpg"  # the 12 MP image
MID_SIZE = (4000, 3000)


@dataclass
class Case:
    label: str
    act: Callable[[], object]          # what the user does (returns at once: the work runs in the app)
    done: Callable[[], bool]           # the app has finished it
    note: str = ""
    runs: int = 1
    prepare: Callable[[], object] = lambda: None  # untimed set-up before each run
    late: list = field(default_factory=list)


def spread_project(root: Path, with_big: bool = True) -> Path:
    """Two real aerial images of each of the 7 tiles (0.28 to 3.7 MP) with their real label maps as
    corrections and the labels shifted by 7 px as predictions; with_big adds the 12 MP and 48 MP scenes."""
    from PIL import Image

    from maskwork.core.domain.annotation import ImageAnnotation, Layer, Status
    from maskwork.core.store.project import Project

    folder = Path(tempfile.mkdtemp(prefix="bench_spread_", dir=root))
    project = Project.create(folder, big_scene.aerial_classes(), task="semantic")
    for tile in range(1, 8):
        for k in (1, 2):
            name = f"tile{tile}_{k:03d}"
            shutil.copy(DATASETS / "aerial" / "images" / f"{name}.jpg", folder / f"{name}.jpg")
            labels = np.array(Image.open(DATASETS / "aerial" / "masks" / f"{name}.png"))
            h, w = labels.shape
            project.set_annotation(f"{name}.jpg", ImageAnnotation(f"{name}.jpg", w, h, corrected=Layer(labels),
                                                                  prediction=Layer(np.roll(labels, 7, axis=1)),
                                                                  status=Status.CORRECTED))
    project.settings["current_image"] = "tile1_001.jpg"
    if with_big:
        big_scene._write_image(folder, "big.jpg")
        gt = big_scene.big_label_map()
        big = ImageAnnotation("big.jpg", big_scene.WIDTH, big_scene.HEIGHT, corrected=Layer(gt),
                              prediction=Layer(np.roll(gt, 7, axis=1)))
        project.set_annotation("big.jpg", big)
        src = cv2.imread(str(DATASETS / "aerial" / "images" / f"{big_scene.AERIAL_TILE}.jpg"))
        cv2.imwrite(str(folder / MID), cv2.resize(src, MID_SIZE), [cv2.IMWRITE_JPEG_QUALITY, 85])
        mid = cv2.resize(gt, MID_SIZE, interpolation=cv2.INTER_NEAREST)
        project.set_annotation(MID, ImageAnnotation(MID, *MID_SIZE, corrected=Layer(mid)))
    project.save()
    project.close()
    return folder


def _sized(name: str) -> str:
    return name + {"big.jpg": " (48 MP)", MID: " (12 MP)"}.get(name, "")


class Bench:
    def __init__(self, folder: Path) -> None:
        from maskwork.gui.main_window import MainWindow

        self.qapp = big_scene.app()
        big_scene.quiet_dialogs()
        self.window = w = MainWindow()
        w.resize(1500, 950)
        w.show()
        big_scene.settle(self.qapp)
        w.session.open_path(folder)
        w.session.loader.wait()
        self.model_panel = w.panel_docks["Model"].widget()
        spin_until(self.qapp, lambda: bool(self.model_panel.entries), timeout_s=120)
        big_scene.settle(self.qapp)
        self.names = [n for n in w.state.project.image_names() if n not in ("big.jpg", MID)]
        self.predictions = 0
        w.state.prediction_changed.connect(self._predicted)

    def _predicted(self) -> None:
        self.predictions += 1

    # ---- user actions -------------------------------------------------------------------
    def open(self, name: str, runs: int = 1, start: str | None = None) -> Case:
        """Switch to `name` (from `start`, opened untimed before each run, when given)."""
        s = self.window.session

        def prepare():
            if start is not None:
                s.open_image(start)
                s.loader.wait()
                spin_for(self.qapp, 0.5)

        label = f"switch to {_sized(name)}" + (f" from {_sized(start)}" if start else "")
        return Case(label, lambda: s.open_image(name),
                    lambda: s.state.current_name == name and not s.loader.busy, runs=runs, prepare=prepare)

    def stroke(self, name: str) -> None:
        w = self.window
        if w.state.current_name != name:
            w.session.open_image(name)
            w.session.loader.wait()
            spin_for(self.qapp, 0.5)
        e = w.editor
        e.set_radius(12)
        w.state.set_current_class(4)
        y = 200 + 40 * (int(time.time() * 10) % 20)
        e.begin_stroke((200, y), erase=False)
        e.stroke_to((200, y), (900, y + 30))
        e.end_stroke()
        spin_for(self.qapp, 0.3)

    def autosave(self, name: str) -> Case:
        s = self.window.session
        return Case(f"autosave after a stroke on {name}", s.autosave, lambda: not s.autosaver.busy,
                    runs=REPEAT, prepare=lambda: self.stroke(name))

    def save(self, name: str) -> Case:
        s = self.window.session
        return Case(f"Ctrl+S after a stroke on {name}", s.save, lambda: not s.saving, runs=REPEAT,
                    prepare=lambda: self.stroke(name))

    def run_model(self, label: str, int8: bool = False) -> Case:
        panel = self.model_panel

        def act():
            self._target = self.predictions + 1
            panel.int8_box.setChecked(int8)  # may start building the int8 model first
            spin_until(self.qapp, lambda: not panel.jobs.busy, timeout_s=900)
            panel.run_current()

        return Case(label, act, lambda: self.predictions >= self._target and not panel.jobs.busy)

    def box_to_mask(self, name: str, box: tuple[int, int, int, int]) -> Case:
        """Box to mask (GrabCut) over a region of `name`: on an image above 2 MP it runs in a worker."""
        w = self.window

        def prepare():
            w.session.open_image(name)
            w.session.loader.wait()
            w.toolbar.select("box")
            w.view.tool.cancel()
            spin_for(self.qapp, 0.3)

        def act():
            tool = w.view.tool
            tool.change(tool.new_prompt(box=box))  # what the drag's release does

        x0, y0, x1, y1 = box
        return Case(f"Box to mask (GrabCut) over {x1 - x0}x{y1 - y0} px of {_sized(name)}", act,
                    lambda: not w.view.tool.busy and w.view.tool.mask is not None, runs=REPEAT, prepare=prepare)

    def build_int8(self) -> Case:
        from maskwork.core.models.predictor_cache import PREDICTORS

        panel = self.model_panel
        return Case("int8 build (calibration on 16 project images) of aerial-landcover",
                    lambda: panel.int8_box.setChecked(True),
                    lambda: PREDICTORS.get("aerial-landcover", True) is not None and not panel.jobs.busy)

    def export(self, folder: Path) -> Case:
        files = self.window.files
        job = {}
        return Case("export the project as COCO RLE (16 images, 12 and 48 MP included)",
                    lambda: job.update(j=files.export("coco-rle", folder / "export.json")),
                    lambda: job.get("j") is not None and job["j"].outcome is not None)

    def train(self, folder: Path) -> Case:
        """On the 14 real aerial images (validating on the 48 MP scene would take many minutes on a CPU)."""
        from maskwork.gui.dialogs.train_dialog import TrainDialog

        dialog = {}

        def prepare():
            self.window.session.open_path(folder)
            self.window.session.loader.wait()
            spin_for(self.qapp, 1.0)

        def act():
            d = dialog["d"] = TrainDialog(self.window.state, self.window)
            d.show()
            spin_until(self.qapp, lambda: d.arch.count() > 0 and not d.jobs.busy, timeout_s=120)
            d.arch.setCurrentIndex(max(0, d.arch.findData("unet_small")))
            d.epochs.setValue(1)
            d.steps.setValue(6)
            d.crop.setValue(256)
            d.start()

        def done() -> bool:  # start() made the job bar busy: idle again = trained, failed or cancelled
            d = dialog.get("d")
            if d is not None and not d.jobs.busy:
                print(f"training ended: {d.outcome.summary if d.outcome else d.status.text()}", flush=True)
                return True
            return False

        return Case("training, 1 epoch of 6 batches (unet_small, 14 real aerial images) with validation", act,
                    done, prepare=prepare)

    # ---- measuring ----------------------------------------------------------------------
    def measure(self, case: Case) -> Row:
        probe = StallProbe()
        worsts, ticks, blamed, took = [], [], {}, []
        for _ in range(case.runs):
            case.prepare()
            spin_for(self.qapp, 0.2)
            start = time.perf_counter()
            with probe.watch(blame=True):
                case.act()
                spin_until(self.qapp, case.done, timeout_s=900)
                took.append(time.perf_counter() - start)
                spin_for(self.qapp, 0.3)  # the paint that follows counts too
            worsts.append(probe.worst_ms)
            ticks += probe.late_ms
            for k, v in probe.blamed.items():
                blamed[k] = blamed.get(k, 0) + v
        worst = float(np.median(worsts))  # one run's worst; repeated cases give the median run's
        over = sum(1 for v in ticks if v > GOAL_MS)
        cause = max(blamed, key=blamed.get) if blamed and max(worsts) > GOAL_MS else ""
        note = (f"done in {np.median(took):.1f} s; {over} of {len(ticks)} ticks late > {GOAL_MS} ms; load "
                f"{load_average():.1f}")
        if cause:
            note += f"; GUI thread mostly at `{cause.split(' < ')[0]}`"
        print(f"{case.label}: worst {worst:.0f} ms ({note})", flush=True)
        runs = f" (median of {len(worsts)} runs, max {max(worsts):.0f} ms)" if len(worsts) > 1 else ""
        return Row(case.label, f"worst {worst:.0f} ms{runs}, p99 {np.percentile(ticks, 99):.0f} ms",
                   f"<= {GOAL_MS} ms", worst <= GOAL_MS, note)


def run(only: list[str] | None = None) -> list[Row]:
    """Every case, or those whose label contains one of the words in `only`."""
    tmp = Path(tempfile.mkdtemp(prefix="bench_stall_"))
    try:
        folder = spread_project(tmp)
        small = spread_project(tmp, with_big=False)
        b = Bench(folder)
        real = [b.open(n) for n in b.names[1:] + b.names[:1]]
        on = "tile7_001.jpg"  # 3.7 MP
        cases = [
            b.open("big.jpg", REPEAT, b.names[0]), b.open(b.names[1], REPEAT, "big.jpg"),
            b.open(MID, REPEAT, b.names[0]), b.open(b.names[1], REPEAT, MID),
            b.autosave(MID), b.autosave("big.jpg"), b.save(MID), b.save("big.jpg"),
            b.run_model(f"first model run: aerial-landcover on {on} (3.7 MP; imports torch, loads the model)"),
            b.run_model(f"model run: aerial-landcover on {on} again"),
            b.run_model("model run: aerial-landcover on big.jpg (48 MP)"),
            b.build_int8(),
            b.run_model(f"model run: aerial-landcover int8 on {on}", int8=True),
            b.export(tmp),
            b.box_to_mask("big.jpg", (1000, 1000, 3000, 2500)),
            b.train(small),
        ]
        rows = []
        if not only or any("switch" in w for w in only):
            rows.append(_many(b, real, "switch between 14 real aerial images (0.28-3.7 MP, correction + "
                                       "prediction)"))
        for case in cases:
            if only and not any(w in case.label for w in only):
                continue
            if "model run" in case.label:
                target = "big.jpg" if "big.jpg" in case.label else on
                b.window.session.open_image(target)
                b.window.session.loader.wait()
                spin_for(b.qapp, 0.5)
            rows.append(b.measure(case))
        b.window.session.close_project = lambda: True
        b.window.close()
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _many(b: Bench, cases: list[Case], label: str) -> Row:
    """Several switches measured as one row (worst over all of them)."""
    rows = [b.measure(c) for c in cases]
    worst = max(float(r.value.split()[1]) for r in rows)
    return Row(label, f"worst {worst:.0f} ms over {len(rows)} switches", f"<= {GOAL_MS} ms", worst <= GOAL_MS,
               "small images load on the spot, those above 2 MP in a worker")


def main() -> None:
    info = machine()
    only = sys.argv[1:]
    rows = run(only)
    print(table(rows))
    if only:
        return  # a partial run is for looking, not for the document
    missed = [r.case for r in rows if r.ok is False]
    verdict = (f"Goal (issue 14, no stall over {GOAL_MS} ms): met in {len(rows) - len(missed)} of {len(rows)} cases."
               + (f" Gap: {'; '.join(missed)}. Causes: the first model run imports torch, whose libraries load "
                  "with the GIL held (~0.2 s, once per session; nothing in-process avoids it); during model runs "
                  "and training the GUI thread waits outside Python, shown as \"(event loop / Qt)\": for the "
                  "GIL a worker holds (numpy over whole images in pre/post-processing, augmentation and "
                  "validation is the likely part; not yet traced) or for a CPU; the GUI thread's own work is "
                  "named in the notes when it was the cause. Single spikes of 60-300 ms also move between "
                  "cases from run to run on this shared 2-core machine (another process took the CPU): the "
                  f"short cases run {REPEAT} times and give the median run." if missed else ""))
    body = "\n\n".join([
        machine_line(info), under_load_note(info["load"], info["cores"]), verdict, table(rows),
        "Run: `python -m bench.bench_stall` (offscreen Qt, the real window with every panel). A 10 ms QTimer on "
        "the GUI thread records how late each tick fires (bench/stall_probe.py); \"worst\" is the longest the "
        "window could not repaint or react. Each case starts as the user starts it (open_image, autosave, "
        "the model panel's buttons, File > Export, the train dialog) and ends when the app says it is done, "
        "plus 0.3 s for the paint that follows. Where the goal is missed, the note names the line the GUI "
        "thread was on during its long stalls (sampled); \"(event loop / Qt)\" means it was not running Python: "
        "waiting for the GIL a worker held (torch's import loading its libraries, numpy on whole 48 MP arrays) "
        "or for a CPU (the load average per case is in the note: on this shared 2-core machine a load of 4-8 "
        "alone delays a ready thread by tens of ms)."])
    update_section("GUI-thread stalls", body)


if __name__ == "__main__":
    sys.exit(main())
