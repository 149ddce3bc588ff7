"""Issue 19 section 6: messages that tell the truth (real nuclei data through the CLI).

Ctrl-C during an import says whether the import happened; a project folder renamed mid-import is not
reported as imported; training on unlabeled masks says there is nothing to learn; CLI write failures do not
talk about unsaved work (the CLI has none).
"""
from __future__ import annotations

import os
import signal

import numpy as np
from PIL import Image

from maskwork.core.cli import run
from maskwork.core.store import import_txn
from maskwork.core.store.names import IMPORT_STAGING_DIR
from maskwork.core.store.project import Project


def _stored(folder) -> list[str]:
    return sorted(p.name for p in (folder / ".maskwork" / "annotations").glob("*.json"))


def _staged_commit(folder) -> bool:
    return any((folder / ".maskwork" / IMPORT_STAGING_DIR).glob("*/COMMIT"))


def test_ctrl_c_after_the_commit_point_finishes_the_import_and_says_so(nuclei_small, monkeypatch, capsys):
    folder, gt, doc = nuclei_small
    sent = []

    def ctrl_c_once_committed():
        if _staged_commit(folder) and not sent:
            sent.append(1)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(import_txn, "_pause", ctrl_c_once_committed)
    assert run(["import", str(gt), str(folder)]) == 130
    err = capsys.readouterr().err
    assert sent and f"the import was already complete ({len(doc['images'])} images) and is kept" in err, err
    project = Project.open(folder, read_only=True)
    assert len(_stored(folder)) == len(doc["images"]) and not project.warnings  # done now, nothing left to finish
    assert not (folder / ".maskwork" / IMPORT_STAGING_DIR).exists()


def test_ctrl_c_before_the_commit_point_says_nothing_was_imported(nuclei_small, monkeypatch, capsys):
    folder, gt, _ = nuclei_small

    def ctrl_c():
        raise KeyboardInterrupt

    monkeypatch.setattr(import_txn, "_pause", ctrl_c)
    assert run(["import", str(gt), str(folder)]) == 130
    assert "nothing was imported: the project holds its work from before" in capsys.readouterr().err
    assert not (folder / ".maskwork" / "annotations").exists()
    assert not (folder / ".maskwork" / IMPORT_STAGING_DIR).exists()


def test_project_folder_renamed_during_the_import_is_not_reported_as_imported(nuclei_small, tmp_path, monkeypatch,
                                                                              capsys):
    folder, gt, _ = nuclei_small
    moved = tmp_path / "mv2"

    def rename_once():
        if not moved.exists():
            folder.rename(moved)  # while the first staged file is written

    monkeypatch.setattr(import_txn, "_pause", rename_once)
    assert run(["import", str(gt), str(folder)]) == 2
    err = capsys.readouterr().err
    assert "was moved or renamed during the import, so nothing was imported" in err, err
    assert not folder.exists()  # no new empty folder left at the old name
    assert not (moved / ".maskwork" / "annotations").exists()


def test_training_on_unlabeled_masks_says_there_is_nothing_to_learn(nuclei_small, tmp_path, capsys):
    folder, _, _ = nuclei_small
    masks = tmp_path / "masks"
    masks.mkdir()
    for image in sorted(folder.glob("*.png"))[:4]:
        w, h = Image.open(image).size
        Image.fromarray(np.zeros((h, w), np.uint8)).save(masks / image.name)
    for image in sorted(folder.glob("*.png"))[4:]:
        image.unlink()
    (masks / "classes.json").write_text('[{"id": 0, "name": "unlabeled", "color": [0, 0, 0]},'
                                        ' {"id": 1, "name": "nucleus", "color": [255, 0, 0]}]')
    assert run(["import", str(masks), str(folder), "--format", "png"]) == 0
    capsys.readouterr()
    code = run(["train", "--arch", "unet_small", "--data", str(folder), "--out", str(tmp_path / "m.pt"),
                "--epochs", "1", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "nothing to learn" in err and "no labelled pixels" in err, err
    assert "diverged" not in err and not (tmp_path / "m.pt").exists()


def test_cli_write_failures_do_not_mention_unsaved_work(nuclei_small, capsys):
    folder, gt, _ = nuclei_small
    assert run(["import", str(gt), str(folder)]) == 0
    capsys.readouterr()
    assert run(["export", str(folder), "/proc/maskwork-cannot-write-here.json"]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "unsaved" not in err, err


def test_a_fifo_or_a_device_is_named_as_what_it_is(nuclei_small, tmp_path, capsys):
    folder, _, _ = nuclei_small
    fifo = tmp_path / "image.png"
    os.mkfifo(fifo)
    assert run(["predict", "--model", "nuclei-semantic", "--out", str(tmp_path / "out"), str(fifo)]) == 2
    err = capsys.readouterr().err
    assert "named pipe (FIFO)" in err and "does not exist" not in err and "folder" not in err, err
    assert run(["sam-register", "mine", "/dev/zero", str(fifo)]) == 2
    err = capsys.readouterr().err
    assert "/dev/zero is a character device" in err and "does not exist" not in err, err
