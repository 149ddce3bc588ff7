"""The benchmark plumbing (no timings here): statistics, and the docs/BENCHMARKS.md section merge that
lets every bench publish its own section without erasing the others (e.g. the "Models" one)."""
from __future__ import annotations

from bench import common, run_all


def test_timing_statistics():
    t = common.Timing([5.0, 1.0, 3.0, 100.0, 2.0])
    assert t.median == 3.0
    assert t.best == 1.0
    assert t.p95 == 100.0
    assert common.Timing([1.0, 2.0]).median == 1.5


def test_update_section_replaces_only_its_own(tmp_path):
    doc = tmp_path / "BENCHMARKS.md"
    common.update_section("Models", "| model | ms |\n|---|---|\n| a | 1 |", doc)
    common.update_section("Editing", "first", doc)
    common.update_section("Editing", "second", doc)
    text = doc.read_text()
    _, sections = common.split_sections(text)
    assert [t for t, _ in sections] == ["Models", "Editing"]
    assert "| a | 1 |" in text and "second" in text and "first" not in text


def test_run_all_tidy_keeps_sections_it_did_not_run(tmp_path, monkeypatch):
    doc = tmp_path / "BENCHMARKS.md"
    monkeypatch.setattr(run_all, "DOC", doc)
    common.update_section("Some later bench", "kept text", doc)
    common.update_section("Models", "model table", doc)
    common.update_section("Editing", "editing table", doc)
    info = {"cpu": "CPU", "cores": 2, "flags": "avx2", "date": "2026-01-01 00:00 UTC", "python": "3",
            "numpy": "2", "load": 0.1}
    run_all.tidy(info, {"bench_editing": (True, 1.0), "bench_models": (False, 2.0)})
    text = doc.read_text()
    _, sections = common.split_sections(text)
    titles = [t for t, _ in sections]
    assert titles == ["Editing", "Models", "Some later bench"]  # known order first, others kept after
    assert "kept text" in text and "model table" in text
    assert "bench_models" in text.split("## ")[0]  # the failed bench is named in the preamble
    assert "CPU, 2 cores" in text


def test_under_load_note_says_so():
    assert "under load" in common.under_load_note(7.5, 2)
    assert "under load" not in common.under_load_note(0.2, 2)
