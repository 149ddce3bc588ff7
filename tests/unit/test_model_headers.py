"""Checkpoint descriptions read without torch (core.models.catalog.headers): the sidecar save_checkpoint writes,
the pickle route for checkpoints without one, and the weights-only promise kept on that route."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from maskwork.core.domain.errors import ModelError
from maskwork.core.models.catalog.builtin import MODELS
from maskwork.core.models.catalog.classlists import aerial_classes, nuclei_classes
from maskwork.core.models.catalog.headers import header_of, read_header, sidecar_path
from maskwork.core.models.catalog.specs import BundledFile
from maskwork.core.models.torch_models.architectures import ARCHITECTURES
from maskwork.core.models.torch_models.checkpoint import read_checkpoint, save_checkpoint
from maskwork.core.resources import bundled_models_dir

BUNDLED = [n for n, s in MODELS.items() if isinstance(s.source, BundledFile)]


def _small(path, classes, input_spec):
    model = ARCHITECTURES["unet_tiny"].build(max(classes.ids()) + 1)
    save_checkpoint(path, arch="unet_tiny", task="semantic", classes=classes, state_dict=model.state_dict(),
                    input_spec=input_spec)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_checkpoint_has_a_sidecar_that_torch_agrees_with(name):
    path = bundled_models_dir() / f"{name}.pt"
    side = json.loads(sidecar_path(path).read_text())  # a bundled model retrained without one fails here
    assert read_header(path) == header_of(read_checkpoint(path)) == {k: side[k] for k in ("arch", "task", "classes",
                                                                                          "input")}


def test_without_a_sidecar_the_pickle_is_read_with_its_tensors_left_out(tmp_path):
    path = tmp_path / "mine.pt"
    _small(path, aerial_classes(), {"tile": 256, "scale": 0.5})
    sidecar_path(path).unlink()  # a checkpoint saved by an older Maskwork or copied without it
    assert read_header(path) == header_of(read_checkpoint(path))
    assert read_header(path)["input"] == {"tile": 256, "scale": 0.5}


def test_a_sidecar_of_another_checkpoint_is_not_believed(tmp_path):
    path = tmp_path / "model.pt"
    _small(path, nuclei_classes(), {"tile": 512})
    old_sidecar = sidecar_path(path).read_bytes()
    _small(path, aerial_classes(), {"tile": 256})  # retrained under the same name...
    sidecar_path(path).write_bytes(old_sidecar)    # ...and the old sidecar copied back over the new one
    header = read_header(path)
    assert [c["name"] for c in header["classes"]] == aerial_classes().names() and header["input"] == {"tile": 256}


def test_a_plain_state_dict_has_no_header(tmp_path):
    path = tmp_path / "plain.pth"
    torch.save(ARCHITECTURES["unet_tiny"].build(3).state_dict(), path)
    assert read_header(path) == {}


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_with_code_is_refused_and_never_runs(tmp_path):
    path, marker = tmp_path / "evil.pt", tmp_path / "ran"
    torch.save({"format": "maskwork-checkpoint", "arch": "unet_tiny", "task": "semantic", "x": _Payload(marker)}, path)
    with pytest.raises(ModelError) as err:
        read_header(path)
    assert "system" in str(err.value) and not marker.exists()


def test_files_that_are_not_checkpoints_say_so(tmp_path, aerial_dir):
    image = tmp_path / "image.pt"
    shutil.copy(next((aerial_dir / "images").glob("*.jpg")), image)
    with pytest.raises(ModelError):
        read_header(image)
    truncated = tmp_path / "cut.pt"
    _small(tmp_path / "whole.pt", aerial_classes(), {})
    truncated.write_bytes((tmp_path / "whole.pt").read_bytes()[:4000])
    with pytest.raises(ModelError):
        read_header(truncated)


def test_reading_headers_does_not_import_torch(tmp_path):
    path = tmp_path / "mine.pt"
    _small(path, aerial_classes(), {"tile": 256})
    sidecar_path(path).unlink()
    code = ("import sys; from maskwork.core.models.catalog.headers import read_header; "
            f"h = read_header({str(path)!r}); from maskwork.core.models.catalog import registry; "
            "print(h['arch'], 'torch' in sys.modules, 'torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["unet_tiny", "False", "False"], out.stderr
