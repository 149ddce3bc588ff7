"""`make bench`: run every bench/bench_*.py, each in its own process, then tidy docs/BENCHMARKS.md.

Each bench publishes its own "## ..." section through bench.common.update_section; sections of
benches that are not run this time (--only / --skip, or one that failed) are kept as they were, so
the "Models" section and the hand-written "Performance fixes" notes survive.
Usage: python -m bench.run_all [--only editing,gui] [--skip models] [--timeout SECONDS]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench.common import DOC, ROOT, machine, machine_line, split_sections, under_load_note

# sections in the order the document shows them; any other section follows in its current order
ORDER = ["Editing", "Start-up and navigation", "Quitting", "Dataset scale", "I/O and project store", "Memory", "Models",
         "int8 accuracy on validation sets", "Inference", "Predict overhead and batch throughput",
         "ONNX models", "ONNX int8", "Interactive", "SAM", "Crash journal",
         "Performance fixes (before / after)"]
# long model runs go last so the rest is published early
SLOW_LAST = ["bench_models", "bench_predict", "bench_interactive"]


def discover() -> list[str]:
    names = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    return [n for n in names if n not in SLOW_LAST] + [n for n in SLOW_LAST if n in names]


def run_one(name: str, timeout: float) -> tuple[bool, float, str]:
    start = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=ROOT, capture_output=True, text=True,
                             timeout=timeout)
        ok, tail = out.returncode == 0, (out.stdout + out.stderr)[-1500:]
    except subprocess.TimeoutExpired:
        ok, tail = False, f"timed out after {timeout:.0f} s"
    return ok, time.perf_counter() - start, tail


def tidy(info: dict, results: dict[str, tuple[bool, float]]) -> None:
    """Rewrite the preamble (machine, date, how to run) and order the sections; keep their text."""
    text = DOC.read_text() if DOC.exists() else ""
    _, sections = split_sections(text)
    by_title = dict(sections)
    ordered = [t for t in ORDER if t in by_title] + [t for t, _ in sections if t not in ORDER]
    failed = [n for n, (ok, _) in results.items() if not ok]
    lines = [
        "# Benchmarks", "",
        "Regenerate with `make bench` (`python -m bench.run_all`; one bench: `python -m bench.bench_editing`). "
        "Each section below is written by its bench and names its own machine, date and load; timings are "
        "medians (p95 where stated) of several runs after warm-up. Goals come from the issue \"Performance\".",
        "", f"Last full run: {machine_line(info)}", "", under_load_note(info["load"], info["cores"]),
    ]
    if failed:
        lines += ["", "Benches that did not finish in the last run (their sections, if any, are from an "
                      "earlier run): " + ", ".join(failed) + "."]
    body = "\n".join(lines) + "\n\n" + "\n".join(by_title[t] for t in ordered)
    tmp = DOC.with_suffix(".md.tmp")
    tmp.write_text(body)
    tmp.replace(DOC)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="", help="comma-separated bench names (editing,gui,...)")
    ap.add_argument("--skip", default="", help="comma-separated bench names to leave out")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds allowed per bench")
    args = ap.parse_args(argv)
    norm = lambda s: {x if x.startswith("bench_") else f"bench_{x}" for x in s.split(",") if x}  # noqa: E731
    only, skip = norm(args.only), norm(args.skip)
    names = [n for n in discover() if (not only or n in only) and n not in skip]
    info = machine()
    results = {}
    for name in names:
        print(f"== {name} ...", flush=True)
        ok, seconds, tail = run_one(name, args.timeout)
        results[name] = (ok, seconds)
        print(f"   {'ok' if ok else 'FAILED'} in {seconds:.0f} s", flush=True)
        if not ok:
            print(tail, file=sys.stderr)
    tidy(info, results)
    print(f"wrote {DOC}")
    return 0 if all(ok for ok, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
