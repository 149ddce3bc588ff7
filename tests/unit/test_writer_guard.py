"""Issue 19 section 1: every path Maskwork writes goes through one check before any work (core/store/writer_guard.py).

Each data-loss case of the issue on a real nuclei PNG project: refused in one sentence naming the path,
exit 2, and every image and store file byte for byte as before.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from maskwork.core.cli import run
from maskwork.core.domain.errors import InputError
from maskwork.core.store.project import Project
from maskwork.core.store.writer_guard import check_new_store, check_output, project_tree


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def png_project(nuclei_small, tmp_path):
    """The 8 nuclei PNG images as a project with the COCO masks imported, and its snapshot on disk."""
    folder, gt, _doc = nuclei_small
    assert run(["import", str(gt), str(folder)]) == 0
    return folder, gt


def _refused(capsys, argv: list[str], folder: Path, *words: str) -> str:
    before = _snapshot(folder)
    names = Project.open(folder, read_only=True).image_names()
    capsys.readouterr()
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err, err  # one sentence, no traceback
    for word in words:
        assert word in err, err
    assert _snapshot(folder) == before  # nothing written, nothing overwritten
    assert Project.open(folder, read_only=True).image_names() == names  # no new images either
    return err


@pytest.mark.parametrize("fmt", ["png", "instance-png"])
def test_export_into_the_project_folder_is_refused(png_project, capsys, fmt):
    folder, _ = png_project
    _refused(capsys, ["export", str(folder), str(folder), "--format", fmt], folder, str(folder), "new images",
             "-export")


def test_export_into_a_subfolder_of_the_project_is_refused(png_project, capsys):
    folder, _ = png_project
    _refused(capsys, ["export", str(folder), str(folder / "masks"), "--format", "instance-png"], folder,
             "masks", "new images")


@pytest.mark.parametrize("target", [".maskwork/project.json", "ANNOTATION", ".maskwork/out"])
def test_export_into_the_store_is_refused(png_project, capsys, target):
    folder, _ = png_project
    if target == "ANNOTATION":
        target = next((folder / ".maskwork" / "annotations").glob("*.json")).relative_to(folder).as_posix()
    fmt = "png" if target.endswith("out") else "coco-rle"
    _refused(capsys, ["export", str(folder), str(folder / target), "--format", fmt], folder, ".maskwork")
    assert run(["export", str(folder), str(folder.parent / "fine.json")]) == 0  # the project still opens


def test_export_of_non_images_beside_the_images_is_allowed(png_project, tmp_path):
    folder, _ = png_project
    assert run(["export", str(folder), str(folder), "--format", "labelme"]) == 0  # labelme's own layout
    assert len(list(folder.glob("*.json"))) == len(list(folder.glob("*.png")))
    assert run(["export", str(folder), str(tmp_path / "masks"), "--format", "png"]) == 0  # outside: fine


def test_export_onto_a_file_says_it_is_a_file(png_project, capsys):
    folder, gt = png_project
    _refused(capsys, ["export", str(folder), str(gt), "--format", "png"], folder, str(gt), "is a file")


def test_predict_into_its_own_input_folder_is_refused(nuclei_small, capsys):
    folder, _, _ = nuclei_small  # a plain folder of images: the inputs of the command
    _refused(capsys, ["predict", "--model", "nuclei-semantic", "--out", str(folder), str(folder)], folder,
             "input", str(folder))


def test_predict_into_a_project_folder_is_refused(png_project, tmp_path, capsys):
    folder, _ = png_project
    images = tmp_path / "other"
    images.mkdir()
    shutil.copy(next(folder.glob("*.png")), images)
    _refused(capsys, ["predict", "--model", "nuclei-semantic", "--out", str(folder / "preds"), str(images)], folder,
             "new images")


def test_train_over_an_image_or_into_a_folder_is_refused_before_training(png_project, capsys):
    folder, _ = png_project  # the project's images and corrections are the training data
    image = next(folder.glob("*.png"))
    base = ["train", "--arch", "unet_small", "--data", str(folder), "--epochs", "1"]
    err = _refused(capsys, base + ["--out", str(image)], folder, str(image), ".pt")
    assert "named like an image" in err
    _refused(capsys, base + ["--out", str(folder)], folder, "is a folder", ".pt")


def test_every_other_writer_is_guarded(png_project, tmp_path, capsys):
    folder, gt = png_project
    image = next(folder.glob("*.png"))
    _refused(capsys, ["iou", "--gt", str(gt), "--pred", str(gt), "--json", str(gt)], folder, "input")
    _refused(capsys, ["segment", str(image), "--tool", "grabcut", "--box", "2,2,40,40", "--out", str(image)], folder,
             "image of the project")
    _refused(capsys, ["export-model", "nuclei-semantic", "--out", str(folder / ".maskwork" / "m.onnx")], folder,
             ".maskwork")
    _refused(capsys, ["quantize", "--model", "nuclei-semantic", "--cache-dir", str(folder / ".maskwork")], folder,
             ".maskwork")


def test_guard_lists_what_the_project_lists(png_project):
    """lists_file agrees with Project.image_names: hidden folders and exclude_dirs are not image folders."""
    folder, _ = png_project
    (folder / "masks").mkdir()
    (folder / ".hidden").mkdir()
    for sub in ("masks", ".hidden"):
        shutil.copy(next(folder.glob("*.png")), folder / sub / "x.png")
    project = Project.open(folder, writer="test")
    project.settings["exclude_dirs"] = ["masks"]
    project.save()
    project.close()
    tree = project_tree(folder)
    listed = set(Project.open(folder, read_only=True).image_names())
    every = {p.relative_to(folder).as_posix() for p in folder.rglob("*.png")}
    assert {n for n in every if tree.lists_file(folder / n)} == listed
    check_output(folder / "masks", kind="folder", projects=[folder])  # an excluded folder may take masks
    check_output(folder / ".hidden" / "out", kind="folder", projects=[folder])


def test_save_elsewhere_never_over_another_projects_store(png_project, tmp_path):
    folder, _ = png_project
    mine = tmp_path / "mine"
    mine.mkdir()
    with pytest.raises(InputError, match="another Maskwork project"):
        check_new_store(folder, mine / ".maskwork")
    with pytest.raises(InputError, match="inside the Maskwork store"):
        check_new_store(folder / ".maskwork" / "x", mine / ".maskwork")
    assert check_new_store(tmp_path / "empty", mine / ".maskwork") == (tmp_path / "empty" / ".maskwork").resolve()
    assert json.loads((folder / ".maskwork" / "project.json").read_text())["task"] == "instance"
