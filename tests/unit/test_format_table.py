"""The format table (core/formats/table.py, ADR 0020) is the one place formats are declared: every row's reader
and writers exist, the CLI's choices and guesses come from it, and a new row reaches the CLI, the File menu and
the export dialog with no other change."""
from __future__ import annotations

import argparse
import dataclasses
import json
import shutil

import pytest

from maskwork.core.cli import io_commands
from maskwork.core.domain.errors import InputError
from maskwork.core.formats import table
from maskwork.core.formats.project_io import export_project, import_source
from maskwork.core.store.project import Project


def _lazies():
    for c in table.FORMATS:
        yield c.read
        yield from (v.write for v in c.exports)


@pytest.mark.parametrize("fn", list(_lazies()), ids=repr)
def test_every_reader_and_writer_of_the_table_exists(fn):
    module = __import__(fn.module, fromlist=[fn.name])
    assert callable(getattr(module, fn.name)), f"{fn!r} is named in the format table but does not exist"


def _choices(command: str) -> tuple[str, ...]:
    parser = argparse.ArgumentParser()
    io_commands.register(parser.add_subparsers())
    sub = parser._subparsers._group_actions[0].choices[command]  # noqa: SLF001 - argparse keeps them there
    return tuple(next(a for a in sub._actions if a.dest == "format").choices)


def test_cli_choices_are_the_table():
    assert _choices("import") == table.IMPORT_FORMATS == ("coco", "png", "yolo", "labelme")
    assert _choices("export") == table.EXPORT_FORMATS == ("coco-rle", "coco-polygon", "png", "instance-png", "yolo",
                                                          "labelme")


def test_the_guess_of_a_source_format(nuclei_val, tmp_path):
    labelme_doc = tmp_path / "one.json"
    labelme_doc.write_text(json.dumps({"shapes": [], "imagePath": "a.png"}))
    yolo = tmp_path / "yolo"
    yolo.mkdir()
    (yolo / "a.txt").write_text("0 0.1 0.1 0.2 0.1 0.2 0.2\n")
    labelme_folder = tmp_path / "lm"
    labelme_folder.mkdir()
    shutil.copy(labelme_doc, labelme_folder / "a.json")
    pngs = tmp_path / "masks"
    pngs.mkdir()
    assert table.guess_import_format(nuclei_val) == "coco"
    assert table.guess_import_format(labelme_doc) == "labelme"
    assert table.guess_import_format(yolo) == "yolo"
    assert table.guess_import_format(labelme_folder) == "labelme"
    assert table.guess_import_format(pngs) == "png"  # any other folder
    assert table.guess_import_format(tmp_path / "nothing.json") == "coco"


def test_a_source_of_the_wrong_kind_is_refused_in_one_sentence(tmp_path):
    project = Project.open(tmp_path)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(InputError, match=r"is not a PNG masks source: png reads a folder of PNG masks"):
        import_source(project, tmp_path / "x.json", "png")
    with pytest.raises(InputError, match=r"does not exist; check the path"):
        import_source(project, tmp_path / "missing", "yolo")
    with pytest.raises(InputError, match=r"unknown import format 'tiff'; use one of coco, png, yolo, labelme"):
        import_source(project, tmp_path, "tiff")
    project.close()


def test_a_new_row_is_a_new_format_everywhere(monkeypatch, tmp_path, nuclei_small):
    """A planted format (one row, its functions) reaches the CLI's choices, the import/export entry points and
    the guess, with nothing else changed: what ADR 0020 promises a contributor."""
    seen = {}

    def read(project, source, overwrite=False, task=None, progress=None):
        seen["read"] = source
        return table.Lazy("steps", "ImportReport")()

    def write(project, out, names, layer, include_scores=False, progress=None, cancel=None):
        seen["write"] = (out, len(names))
        return table.Lazy("coco_export", "ExportReport")()

    row = table.Codec("tsv", "TSV boxes", "file", "a .tsv file of boxes", "TSV (*.tsv)",
                      lambda p: p.suffix == ".tsv", read,
                      (table.ExportVariant("tsv", "TSV boxes, one line per object", "file", False, write),))
    monkeypatch.setattr(table, "FORMATS", (*table.FORMATS, row))
    monkeypatch.setattr(table, "IMPORT_FORMATS", (*table.IMPORT_FORMATS, "tsv"))
    monkeypatch.setattr(table, "EXPORTS", {**table.EXPORTS, "tsv": row.exports[0]})
    monkeypatch.setattr(table, "EXPORT_FORMATS", (*table.EXPORT_FORMATS, "tsv"))
    monkeypatch.setattr(io_commands, "IMPORT_FORMATS", table.IMPORT_FORMATS)  # bound at import, as the CLI is
    monkeypatch.setattr(io_commands, "EXPORT_FORMATS", table.EXPORT_FORMATS)
    assert "tsv" in _choices("import") and "tsv" in _choices("export")
    source = tmp_path / "boxes.tsv"
    source.write_text("x\n")
    assert table.guess_import_format(source) == "tsv"
    folder, gt, doc = nuclei_small
    project = Project.open(folder)
    real = import_source(project, gt)  # the real rows still read through the same entry (COCO, guessed)
    assert (real.images, real.objects) == (len(doc["images"]), len(doc["annotations"]))
    import_source(project, source)
    assert seen["read"] == source
    export_project(project, tmp_path / "out.tsv", "tsv", only_corrected=False)
    assert seen["write"] == (tmp_path / "out.tsv", len(project.image_names()))
    project.close()


def test_codec_rows_are_frozen_declarations():
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.FORMATS[0].name = "other"  # type: ignore[misc]


def test_a_pipe_is_refused_before_anything_reads_it(tmp_path):
    import os

    project = Project.open(tmp_path)
    fifo = tmp_path / "stream.json"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"neither a regular file nor a folder \(a pipe or a device\?\)"):
        import_source(project, fifo)  # a read would block forever: refused by kind first
    project.close()
