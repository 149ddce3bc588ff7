"""Shared helpers for the benchmarks: machine description, robust timing, peak memory, and the
markdown section each bench contributes to docs/BENCHMARKS.md.

Timings are medians (and p95) of N runs after warm-up runs, because the machine is shared and a
single run says little. Peak memory is measured in a separate pass (tracemalloc slows Python code
down, so it never runs while timing) and, for a whole process, from getrusage's max RSS.
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import resource
import subprocess
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
DOC = ROOT / "docs" / "BENCHMARKS.md"


# ---- machine -----------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        m = re.search(r"^Model name:\s*(.+)$", out, re.M)
        if m:
            return m.group(1).strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or "unknown CPU"


def cpu_flags() -> str:
    try:
        flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0]
    except (OSError, IndexError):
        return ""
    return ", ".join(f for f in ("avx2", "avx512f", "avx512_vnni") if f" {f}" in flags)


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def machine() -> dict:
    import numpy

    info = {"cpu": cpu_model(), "cores": os.cpu_count() or 0, "flags": cpu_flags(),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "load": round(load_average(), 1)}
    try:
        import PySide6

        info["pyside6"] = PySide6.__version__
    except ImportError:
        pass
    return info


def under_load_note(load: float, cores: int) -> str:
    """'measured under load' when other work kept the CPU busy during the run."""
    if load != load:  # nan
        return ""
    if load > 0.7 * max(cores, 1):
        return (f"measured under load (1-min load average {load:.1f} on {cores} cores: other "
                "processes were using the CPU; numbers are pessimistic)")
    return f"machine mostly idle (load average {load:.1f})"


# ---- timing ------------------------------------------------------------------------------
@dataclass
class Timing:
    samples_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        s = sorted(self.samples_ms)
        n = len(s)
        return float("nan") if n == 0 else (s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2)

    def percentile(self, q: float) -> float:
        s = sorted(self.samples_ms)
        if not s:
            return float("nan")
        k = min(len(s) - 1, max(0, int(round(q / 100 * (len(s) - 1)))))
        return s[k]

    @property
    def p95(self) -> float:
        return self.percentile(95)

    @property
    def best(self) -> float:
        return min(self.samples_ms) if self.samples_ms else float("nan")


def time_it(fn: Callable[[], object], runs: int = 15, warmup: int = 2,
            setup: Callable[[], object] | None = None) -> Timing:
    """Run fn warmup+runs times; `setup` (untimed) runs before each call, e.g. to undo the last edit."""
    t = Timing()
    for k in range(warmup + runs):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        elapsed = (time.perf_counter() - start) * 1000
        if k >= warmup:
            t.samples_ms.append(elapsed)
    return t


def time_each(steps: list[Callable[[], object]]) -> Timing:
    """Time a sequence of different calls (e.g. the segments of one stroke), one sample each."""
    t = Timing()
    for step in steps:
        start = time.perf_counter()
        step()
        t.samples_ms.append((time.perf_counter() - start) * 1000)
    return t


# ---- memory ------------------------------------------------------------------------------
def peak_python_mb(fn: Callable[[], object]) -> tuple[float, object]:
    """Peak of memory allocated through Python (numpy included) while fn runs, in MB, and fn's result.

    Not counted: Qt's own C++ allocations (QImage buffers made by Qt) and memory mapped by libraries
    outside the Python allocator; the process RSS (max_rss_mb) covers those."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - base) / 1e6, result


def max_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Current resident memory of this process."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return float("nan")


# ---- markdown ----------------------------------------------------------------------------
@dataclass
class Row:
    """One line of a results table: what, measured value, goal (text), pass/fail or None."""

    case: str
    value: str
    goal: str = ""
    ok: bool | None = None
    note: str = ""


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("yes" if ok else "**no**")


def table(rows: list[Row]) -> str:
    lines = ["| case | measured | goal | met | note |", "|---|---:|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.case} | {r.value} | {r.goal} | {verdict(r.ok)} | {r.note} |")
    return "\n".join(lines)


def ms_text(t: Timing, p95: bool = True) -> str:
    return f"median {t.median:.1f} ms" + (f", p95 {t.p95:.1f} ms" if p95 else "") + f" (n={len(t.samples_ms)})"


def split_sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """A markdown document -> (preamble, [(title of '## title', whole section text)])."""
    parts = re.split(r"(?m)^(?=## )", text)
    preamble, sections = "", []
    for part in parts:
        if part.startswith("## "):
            title = part[3:].split("\n", 1)[0].strip()
            sections.append((title, part.rstrip() + "\n"))
        else:
            preamble += part
    return preamble, sections


def update_section(title: str, body: str, doc: Path = DOC) -> None:
    """Replace (or append) the '## title' section of docs/BENCHMARKS.md, keeping every other section.

    Any bench can call this to publish its table without knowing about the others."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n\n"
    preamble, sections = split_sections(text)
    new = f"## {title}\n\n{body.strip()}\n"
    for k, (t, _) in enumerate(sections):
        if t == title:
            sections[k] = (title, new)
            break
    else:
        sections.append((title, new))
    doc.parent.mkdir(parents=True, exist_ok=True)
    tmp = doc.with_suffix(".md.tmp")
    tmp.write_text(preamble.rstrip() + "\n\n" + "\n".join(s for _, s in sections))
    os.replace(tmp, doc)


def machine_line(info: dict | None = None) -> str:
    info = info or machine()
    flags = f", {info['flags']}" if info.get("flags") else ""
    return (f"Machine: {info['cpu']}, {info['cores']} cores{flags}, no GPU; Python {info['python']}, "
            f"numpy {info['numpy']}" + (f", PySide6 {info['pyside6']}" if "pyside6" in info else "")
            + f". Date: {info['date']}.")
