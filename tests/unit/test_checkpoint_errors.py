"""Checkpoints that do not fit are refused with one sentence saying exactly what does not fit.

Real tiny models from the architecture table (unet_tiny, unet_small, maskrcnn_resnet18_lite); each bad
file goes through the library (register_checkpoint / read_checkpoint / load_model) and the CLI
(`register-model`, `evaluate`), and nothing is registered.
"""
from __future__ import annotations

import json
import os
import re
import zipfile

import pytest
import torch
from PIL import Image

from maskwork.core.cli import run
from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.errors import InputError, ModelError
from maskwork.core.models.catalog.registry import get_model
from maskwork.core.models.catalog.user_models import models_file, register_checkpoint
from maskwork.core.models.catalog.weights import load_model
from maskwork.core.models.torch_models.architectures import ARCHITECTURES
from maskwork.core.models.torch_models.checkpoint import read_checkpoint, save_checkpoint
from tests.unit.training_fixtures import small_nuclei

torch.set_num_threads(1)

ANSI = "\x1b"


def _state(arch: str, num_classes: int, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    return ARCHITECTURES[arch].build(num_classes).state_dict()


def _names(n: int) -> ClassList:
    return ClassList.from_names(["background", *[f"c{i}" for i in range(1, n)]])


def _one_sentence(msg: str) -> None:
    assert "\n" not in msg and ANSI not in msg, msg
    assert not re.search(r"[.;:]\s+[A-Z]", msg), f"more than one sentence: {msg}"
    assert msg.endswith(".") and len(msg) < 600, msg


def _nothing_registered() -> None:
    assert not models_file().exists() or json.loads(models_file().read_text())["models"] == []


# --- class count --------------------------------------------------------------------------------------

def test_header_class_list_longer_than_the_head_says_both_counts(model_env, tmp_path):
    path = tmp_path / "five.pt"
    save_checkpoint(path, arch="unet_tiny", task="semantic", classes=_names(5), state_dict=_state("unet_tiny", 3))
    with pytest.raises(ModelError) as err:
        register_checkpoint(path)
    msg = str(err.value)
    _one_sentence(msg)
    assert "head has 3 classes but its class list names 5" in msg
    assert "head.weight" in msg and "(3, 8, 1, 1)" in msg and "(5, 8, 1, 1)" in msg
    assert "five.pt" in msg and "different architecture" not in msg
    _nothing_registered()


def test_instance_head_class_count_mismatch_names_the_layer(model_env, tmp_path):
    path = tmp_path / "cells.pt"
    save_checkpoint(path, arch="maskrcnn_resnet18_lite", task="instance", classes=_names(2),
                    state_dict=_state("maskrcnn_resnet18_lite", 4))
    with pytest.raises(ModelError) as err:
        register_checkpoint(path)
    msg = str(err.value)
    _one_sentence(msg)
    assert "head has 4 classes but its class list names 2" in msg
    assert "roi_heads.box_predictor.cls_score.weight" in msg and "(4, 256)" in msg and "(2, 256)" in msg
    _nothing_registered()


def test_plain_state_dict_with_too_few_class_names(model_env, tmp_path):
    torch.save(_state("unet_tiny", 5), tmp_path / "plain.pth")
    with pytest.raises(ModelError) as err:
        register_checkpoint(tmp_path / "plain.pth", arch="unet_tiny", classes=["road", "car"])
    msg = str(err.value)
    _one_sentence(msg)
    assert "head has 5 classes but the class list given for it names 3" in msg and "head.weight" in msg
    _nothing_registered()


def test_same_keys_other_widths_is_still_another_architecture(model_env, tmp_path):
    """unet_small and unet_tiny share every key name: shapes that differ outside the head are not a class count."""
    path = tmp_path / "small.pt"
    save_checkpoint(path, arch="unet_tiny", task="semantic", classes=_names(3), state_dict=_state("unet_small", 3))
    with pytest.raises(ModelError) as err:
        register_checkpoint(path)
    msg = str(err.value)
    _one_sentence(msg)
    assert "does not fit architecture unet_tiny" in msg and "classes" not in msg.split("unet_tiny")[1][:80]
    assert "down.0.0.weight: (16, 3, 3, 3) in the file, (8, 3, 3, 3) here" in msg
    _nothing_registered()


# --- task against architecture -----------------------------------------------------------------------

def _task_mismatch(tmp_path):
    path = tmp_path / "wrongtask.pt"
    save_checkpoint(path, arch="unet_tiny", task="instance", classes=_names(2), state_dict=_state("unet_tiny", 2))
    return path


def test_header_task_that_contradicts_its_architecture_is_not_registered(model_env, tmp_path):
    path = _task_mismatch(tmp_path)
    with pytest.raises(ModelError) as err:
        register_checkpoint(path)
    msg = str(err.value)
    _one_sentence(msg)
    assert "task instance" in msg and "unet_tiny" in msg and "semantic" in msg and "wrongtask.pt" in msg
    _nothing_registered()
    with pytest.raises(ModelError, match="task instance"):
        read_checkpoint(path)


def test_evaluate_of_a_task_mismatch_says_so_instead_of_crashing(model_env, datasets, tmp_path, capsys):
    data = small_nuclei(datasets / "nuclei" / "val.json", tmp_path / "nuclei", count=1)
    path = _task_mismatch(tmp_path)
    rc = run(["evaluate", "--model", str(path), "--data", str(data)])
    err = capsys.readouterr().err
    assert rc == 2 and "AttributeError" not in err
    assert len(err.splitlines()) == 1 and "task instance" in err and "unet_tiny" in err


def test_a_task_mismatch_registered_by_an_older_version_fails_to_load_with_the_message(model_env, tmp_path):
    path = _task_mismatch(tmp_path)
    models_file().parent.mkdir(parents=True, exist_ok=True)
    models_file().write_text(json.dumps({"version": 1, "models": [
        {"name": "old", "path": str(path), "arch": "unet_tiny", "task": "instance",
         "classes": _names(2).to_list(), "input": {}}]}))
    with pytest.raises(ModelError, match="task instance"):
        load_model(get_model("old"))


# --- files that are not weights-only checkpoints -------------------------------------------------------

class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickled_module_is_refused_naming_the_class(model_env, tmp_path):
    torch.manual_seed(0)
    torch.save(ARCHITECTURES["unet_tiny"].build(3), tmp_path / "module.pt")
    with pytest.raises(ModelError) as err:
        register_checkpoint(tmp_path / "module.pt")
    msg = str(err.value)
    _one_sentence(msg)
    assert msg.startswith(f"{tmp_path / 'module.pt'} is not a weights-only checkpoint: it contains pickled Python "
                          "objects (GLOBAL maskwork.core.models.torch_models.light.UNetSmall)")
    assert "torch.save(model.state_dict()" in msg and "PyTorch 2.6" not in msg
    _nothing_registered()


def test_a_malicious_pickle_is_refused_and_never_runs(model_env, tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"state_dict": _state("unet_tiny", 2), "x": _Payload(marker)}, tmp_path / "evil.pt")
    with pytest.raises(ModelError) as err:
        read_checkpoint(tmp_path / "evil.pt")
    msg = str(err.value)
    _one_sentence(msg)
    assert f"GLOBAL {os.system.__module__}.system" in msg and "could run code" in msg
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_pickle_refused_for_an_opcode_says_so_in_one_sentence(model_env, tmp_path):
    import pickle

    (tmp_path / "raw.pt").write_bytes(pickle.dumps({1, 2}, protocol=4))  # a bare Python pickle, not torch.save
    with pytest.raises(ModelError) as err:
        read_checkpoint(tmp_path / "raw.pt")
    msg = str(err.value)
    _one_sentence(msg)
    assert "is not a weights-only checkpoint" in msg and "(unsupported operand 149)" in msg
    assert "Check the documentation" not in msg


def test_a_truncated_checkpoint_is_called_damaged(model_env, tmp_path):
    path = tmp_path / "half.pt"
    save_checkpoint(path, arch="unet_tiny", task="semantic", classes=_names(2), state_dict=_state("unet_tiny", 2))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError) as err:
        register_checkpoint(path)
    msg = str(err.value)
    _one_sentence(msg)
    assert "half.pt is damaged" in msg and "incomplete or corrupt zip archive" in msg
    _nothing_registered()


def test_a_zip_that_torch_did_not_write(model_env, tmp_path):
    with zipfile.ZipFile(tmp_path / "archive.pt", "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ModelError) as err:
        read_checkpoint(tmp_path / "archive.pt")
    _one_sentence(str(err.value))
    assert "zip archive" in str(err.value)


@pytest.mark.parametrize("kind, expected", [("png", "is a PNG image"), ("text", "is a text file"),
                                            ("empty", "is empty (0 bytes)"), ("random", "is not a PyTorch")])
def test_files_that_are_not_checkpoints_at_all(model_env, tmp_path, kind, expected):
    path = tmp_path / "weights.pt"
    if kind == "png":
        Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
        os.replace(tmp_path / "x.png", path)
    elif kind == "text":
        path.write_text("<html>proxy login page</html>")
    elif kind == "random":
        path.write_bytes(bytes(range(7, 256)) * 3)
    else:
        path.write_bytes(b"")
    with pytest.raises(InputError) as err:  # a CheckpointError is both an InputError and a ModelError
        register_checkpoint(path)
    msg = str(err.value)
    _one_sentence(msg)
    assert isinstance(err.value, ModelError) and expected in msg and str(path) in msg
    _nothing_registered()


# --- the CLI ---------------------------------------------------------------------------------------------

def test_cli_prints_one_clean_line_for_each_bad_file_and_registers_nothing(model_env, tmp_path, capsys):
    torch.manual_seed(0)
    torch.save(ARCHITECTURES["unet_tiny"].build(2), tmp_path / "module.pt")
    save_checkpoint(tmp_path / "count.pt", arch="unet_tiny", task="semantic", classes=_names(5),
                    state_dict=_state("unet_tiny", 3))
    _task_mismatch(tmp_path)
    Image.new("RGB", (8, 8)).save(tmp_path / "image.png")
    os.replace(tmp_path / "image.png", tmp_path / "image.pt")
    expected = {"module.pt": "GLOBAL maskwork.core.models.torch_models.light.UNetSmall",
                "count.pt": "head has 3 classes",
                "wrongtask.pt": "task instance", "image.pt": "is a PNG image"}
    for name, text in expected.items():
        for argv in (["register-model", str(tmp_path / name)],
                     ["evaluate", "--model", str(tmp_path / name), "--data", str(tmp_path)]):
            rc = run(argv)
            err = capsys.readouterr().err
            assert rc == 2 and len(err.splitlines()) == 1 and ANSI not in err, (argv, err)
            assert text in err, (argv, err)
    _nothing_registered()
