"""Start-up side by side with labelme under a real X server: `python -m bench.startup_x11`
(bench/bench_gui.py adds its rows to "Start-up and navigation").

Both programs open the same 63-image aerial project (a copy of ../shared/datasets/aerial/images with a
Maskwork store) in a fresh process with a throwaway HOME on an Xvfb display. Measured from launch:
the first visible window, and the moment the window title names the first image (both programs set
it when the image is on screen); resident memory (VmRSS) at that moment and SETTLE_S later, when
Maskwork has read its model list (no model has run). labelme runs from its own virtual environment
(LABELME_VENV, default /tmp/labelme-venv: `python -m venv /tmp/labelme-venv && /tmp/labelme-venv/bin/pip
install labelme`); without it the table says that labelme could not be measured.
Goals (issue 14): Maskwork shows the first image within 1.0 s and stays within 350 MB until a model runs.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import DATASETS, ROOT, Row, Timing

RUNS = 5
SETTLE_S = 5.0
POLL_S = 0.02
GOAL_MS, GOAL_MB = 1000, 350
LABELME_VENV = Path(os.environ.get("LABELME_VENV", "/tmp/labelme-venv"))
FIRST = "tile1_001.jpg"


@dataclass
class Result:
    shown: Timing = field(default_factory=Timing)
    image: Timing = field(default_factory=Timing)
    rss_image: list = field(default_factory=list)
    rss_settled: list = field(default_factory=list)
    version: str = ""


def aerial63(root: Path) -> Path:
    """The 63 aerial images in a folder with a Maskwork store (the sample's classes)."""
    from maskwork.core.domain.annotation import ClassList

    folder = root / "aerial63"
    folder.mkdir()
    for src in sorted((DATASETS / "aerial" / "images").glob("*.jpg")):
        shutil.copy(src, folder / src.name)
    from maskwork.core.store.project import Project

    classes = ClassList.from_list(json.loads((DATASETS / "aerial" / "classes.json").read_text()))
    Project.create(folder, classes, "semantic").close()
    return folder


class Display:
    """An Xvfb server on a free display number (or $DISPLAY when BENCH_USE_DISPLAY=1)."""

    def __enter__(self) -> str:
        self.proc = None
        if os.environ.get("BENCH_USE_DISPLAY") == "1" and os.environ.get("DISPLAY"):
            return os.environ["DISPLAY"]
        for n in range(91, 140):
            if Path(f"/tmp/.X11-unix/X{n}").exists() or Path(f"/tmp/.X{n}-lock").exists():
                continue
            self.proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1600x1000x24"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 30
            while self.proc.poll() is None and time.monotonic() < deadline:  # answering, not just started
                if subprocess.run(["xdpyinfo", "-display", f":{n}"], capture_output=True).returncode == 0:
                    return f":{n}"
                time.sleep(0.1)
            self.proc.kill()  # taken meanwhile or too slow: the next number
            self.proc.wait(10)
        raise RuntimeError("no Xvfb display could be started (:91 to :139)")

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _titles(pid: int, env: dict) -> list[str]:
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(pid)], env=env,
                           capture_output=True, text=True).stdout.split()
    return [subprocess.run(["xdotool", "getwindowname", w], env=env, capture_output=True, text=True).stdout
            for w in found]


def launch(cmd: list[str], env: dict, result: Result, keep: bool) -> None:
    log = Path(env["HOME"]) / "stderr.txt"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    shown = image = None
    try:
        while time.perf_counter() - start < 60 and proc.poll() is None:
            titles = _titles(proc.pid, env)
            now = (time.perf_counter() - start) * 1000
            if titles and shown is None:
                shown = now
            if any(FIRST in t for t in titles):
                image = now
                break
            time.sleep(POLL_S)
        if image is None:
            raise RuntimeError(f"{cmd[0]} showed no window titled with {FIRST} within 60 s (exit code "
                               f"{proc.poll()}):\n{log.read_text()[-3000:]}")
        rss = _rss_mb(proc.pid)
        time.sleep(SETTLE_S)
        if keep:
            result.shown.samples_ms.append(shown)
            result.image.samples_ms.append(image)
            result.rss_image.append(rss)
            result.rss_settled.append(_rss_mb(proc.pid))
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def side_by_side(runs: int = RUNS) -> tuple[dict[str, Result], str]:
    """{program: Result} over `runs` launches each (after one warm-up each), alternating; and a note."""
    tmp = Path(tempfile.mkdtemp(prefix="bench_x11_"))
    programs = {"Maskwork": [sys.executable, str(ROOT / "main.py")]}
    labelme = LABELME_VENV / "bin" / "labelme"
    note = ""
    if labelme.is_file():
        programs["labelme"] = [str(labelme)]
    else:
        note = (f"labelme could not be measured: {labelme} is not installed (`pip install labelme` into "
                f"{LABELME_VENV} failed or was not run).")
    results = {name: Result() for name in programs}
    try:
        folder = aerial63(tmp)
        with Display() as display:
            for k in range(runs + 1):
                for name, cmd in programs.items():
                    home = tmp / f"home_{name}_{k}"
                    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", HOME=str(home),
                               XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
                               XDG_CACHE_HOME=str(home / "cache"), XDG_STATE_HOME=str(home / "state"))
                    env.pop("MASKWORK_STARTUP_PROBE", None)
                    launch([*cmd, str(folder)], env, results[name], keep=k > 0)  # run 0 fills the file cache
        if "labelme" in programs:
            results["labelme"].version = subprocess.run(
                [str(LABELME_VENV / "bin" / "python"), "-c", "import labelme; print(labelme.__version__)"],
                capture_output=True, text=True).stdout.strip()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results, note


def rows(results: dict[str, Result], note: str) -> list[Row]:
    out = []
    for name, r in results.items():
        ours = name == "Maskwork"
        label = f"labelme {r.version}" if name == "labelme" else name
        rss = sorted(r.rss_settled)[len(r.rss_settled) // 2]
        out.append(Row(f"{label}: launch -> window shown (X server, 63-image aerial project)",
                       f"median {r.shown.median:.0f} ms", "", None, "xdotool sees the mapped window"))
        out.append(Row(f"{label}: launch -> first image shown", f"median {r.image.median:.0f} ms, p95 "
                       f"{r.image.p95:.0f} ms (n={len(r.image.samples_ms)})", f"<= {GOAL_MS} ms" if ours else "",
                       r.image.median <= GOAL_MS if ours else None, "the window title names tile1_001.jpg"))
        out.append(Row(f"{label}: resident memory, first image / {SETTLE_S:.0f} s later",
                       f"{sorted(r.rss_image)[len(r.rss_image) // 2]:.0f} MB / {rss:.0f} MB",
                       f"<= {GOAL_MB} MB" if ours else "", rss <= GOAL_MB if ours else None,
                       "model list read, no model run: torch not imported" if ours else "VmRSS"))
    if note:
        out.append(Row("labelme", "not measured", "", None, note))
    return out


def main() -> None:
    from bench.common import table

    results, note = side_by_side()
    print(table(rows(results, note)))


if __name__ == "__main__":
    main()
