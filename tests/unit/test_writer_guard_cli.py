"""Issue 19: the writer guard cannot be forgotten, and an interrupted export says what it left.

Every string argument of every command is declared in core/cli/output_paths.py (output, input, project or
not a path); the dispatcher checks the outputs before any command runs. A folder export is all or nothing:
Ctrl-C in the middle leaves the folder as it was and says so.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from maskwork.core.cli import build_parser, run
from maskwork.core.cli.output_paths import COMMAND_PATHS
from maskwork.core.formats import coco_project, png, project_io
from maskwork.core.store.project import Project

FLAG_ACTIONS = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._StoreConstAction,
                argparse._CountAction, argparse._HelpAction, argparse._VersionAction)


def _string_arguments(parser: argparse.ArgumentParser) -> set[str]:
    """Arguments that take free text, of any type (a Path type too): any of them may be a path. Numbers,
    flags and fixed choices cannot."""
    return {a.dest for a in parser._actions
            if not isinstance(a, FLAG_ACTIONS) and a.type not in (int, float) and a.choices is None}


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_declares_every_path_argument():
    commands = _commands()
    missing = set(commands) - set(COMMAND_PATHS)
    assert not missing, f"add {sorted(missing)} to core/cli/output_paths.py COMMAND_PATHS"
    for name, parser in commands.items():
        paths = COMMAND_PATHS[name]
        declared = {o.dest for o in paths.outputs} | set(paths.inputs) | set(paths.projects) | set(paths.not_paths)
        undeclared = _string_arguments(parser) - declared
        assert not undeclared, f"{name}: declare {sorted(undeclared)} in core/cli/output_paths.py (output or not)"
        stale = declared - {a.dest for a in parser._actions}
        assert not stale, f"{name}: {sorted(stale)} are declared but the parser has no such argument"


def test_an_undeclared_command_is_refused_before_it_runs(monkeypatch, nuclei_small):
    """A command missing from the table does not run unguarded (the test above catches it first)."""
    folder, _, _ = nuclei_small
    monkeypatch.delitem(COMMAND_PATHS, "export")
    with pytest.raises(RuntimeError, match="declares no paths"):
        run(["export", str(folder), str(folder)])


def test_ray_predict_into_a_project_is_not_a_file_output(nuclei_small):
    """`predict --engine ray --out PROJECT` stores prediction layers: the guard does not refuse the folder."""
    from maskwork.core.cli.output_paths import _predict_kind

    folder, gt, _ = nuclei_small
    assert run(["import", str(gt), str(folder)]) == 0
    args = argparse.Namespace(project=None, engine="ray", out=str(folder), model="nuclei-semantic")
    assert _predict_kind(args) is None
    args.engine = "local"
    assert _predict_kind(args) == "folder"


def _interrupt_at(monkeypatch, writer: str, call: int) -> None:
    real = getattr(png, writer)
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(png, writer, interrupted)


def _files(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_ctrl_c_during_an_instance_png_export_leaves_the_folder_as_it_was(nuclei_small, tmp_path, monkeypatch,
                                                                          capsys):
    folder, gt, _ = nuclei_small
    assert run(["import", str(gt), str(folder)]) == 0
    out = tmp_path / "masks"
    assert run(["export", str(folder), str(out), "--format", "instance-png", "--images", "*0*"]) == 0
    before = _files(out)
    _interrupt_at(monkeypatch, "write_instance_png", 4)
    capsys.readouterr()
    assert run(["export", str(folder), str(out), "--format", "instance-png"]) == 130
    err = capsys.readouterr().err
    assert f"interrupted; nothing was written to {out}" in err, err
    assert _files(out) == before  # not one file rewritten, no staging folder left
    fresh = tmp_path / "fresh"
    monkeypatch.undo()
    _interrupt_at(monkeypatch, "write_instance_png", 2)
    with pytest.raises(KeyboardInterrupt):
        project_io.export_project(Project.open(folder), fresh, "instance-png")
    assert not fresh.exists()  # a folder the export created is gone again


def test_ctrl_c_during_a_semantic_prediction_writes_nothing(nuclei_small, tmp_path, monkeypatch, capsys):
    folder, _, _ = nuclei_small
    out = tmp_path / "preds"
    _interrupt_at(monkeypatch, "write_label_png", 3)
    assert run(["predict", "--model", "nuclei-semantic", "--device", "cpu", "--out", str(out), str(folder)]) == 130
    assert f"nothing was written to {out}" in capsys.readouterr().err
    assert not out.exists()


def test_ctrl_c_before_a_coco_export_is_written_says_nothing_was_written(nuclei_small, tmp_path, monkeypatch,
                                                                         capsys):
    folder, gt, _ = nuclei_small
    assert run(["import", str(gt), str(folder)]) == 0
    out = tmp_path / "out.json"
    assert run(["export", str(folder), str(out)]) == 0
    before = out.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(coco_project, "coco_export", interrupted)
    capsys.readouterr()
    assert run(["export", str(folder), str(out), "--format", "coco-polygon"]) == 130
    assert f"interrupted; nothing was written to {out}" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_a_staging_folder_left_by_a_killed_export_is_removed_by_the_next(nuclei_small, tmp_path):
    import subprocess
    import sys

    folder, gt, _ = nuclei_small
    assert run(["import", str(gt), str(folder)]) == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    out = tmp_path / "masks"
    left = out / f".maskwork-partial-{int(dead.stdout)}-1"
    left.mkdir(parents=True)
    (left / "half.png").write_bytes(b"half a mask")
    assert run(["export", str(folder), str(out), "--format", "png"]) == 0
    assert not left.exists() and not [p for p in out.iterdir() if p.name.startswith(".")]
