"""Weights: the torch hub cache (filled by the tests), downloads with progress/cancel/checksum,
bundled and user checkpoints, and clear messages for weights that do not fit."""
from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torchvision.ops.misc import FrozenBatchNorm2d

from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.errors import Cancelled, InputError, ModelError
from maskwork.core.domain.progress import CancelToken
from maskwork.core.models.catalog import weights as W
from maskwork.core.models.catalog.registry import MODELS, TorchvisionWeights, get_model
from maskwork.core.models.catalog.user_models import register_checkpoint
from maskwork.core.models.torch_models.checkpoint import save_checkpoint
from tests.unit.model_fixtures import torchvision_like_state

TORCHVISION = [n for n, s in MODELS.items() if isinstance(s.source, TorchvisionWeights)]
BUNDLED = [n for n in MODELS if n not in TORCHVISION]


def test_cache_path_is_torch_hub_with_the_enum_file_name(model_env):
    from torchvision.models import get_weight

    spec = MODELS["maskrcnn_resnet50_fpn"]
    path = W.weights_path(spec)
    assert path.parent == W.hub_checkpoint_dir() == Path(torch.hub.get_dir()) / "checkpoints"
    expected = "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth"
    assert path.name == os.path.basename(get_weight(spec.source.weights).url) == expected
    assert str(path).startswith(os.environ["TORCH_HOME"])


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_weights_load_from_the_cache(model_env, name):
    spec = get_model(name)
    assert W.model_state(spec) == "cached"
    model = W.load_model(spec)
    assert not model.training
    saved = torchvision_like_state(name)
    own = model.state_dict()
    for key in list(own)[:: max(1, len(own) // 20)]:  # a spread of tensors, head included below
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(own[key], saved[key]), key
    head = [k for k in own if k.startswith(("roi_heads.box_predictor", "classifier"))][-1]
    assert torch.equal(own[head], saved[head])
    assert not any(k.startswith("aux_classifier") for k in own)  # training-only head dropped


def test_pretrained_v1_detector_is_built_as_torchvision_builds_it(model_env):
    model = W.load_model(get_model("maskrcnn_resnet50_fpn"))
    frozen = [m for m in model.modules() if isinstance(m, FrozenBatchNorm2d)]
    assert frozen and all(m.eps == 0.0 for m in frozen)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_checkpoints_load(model_env, name):
    spec = get_model(name)
    assert W.model_state(spec) == "bundled"
    model = W.load_model(spec)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_states_of_missing_weights(model_env, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch"))
    monkeypatch.setenv("MASKWORK_MODELS_DIR", str(tmp_path / "no-models"))
    assert W.model_state(get_model("fcn_resnet50")) == "needs download"
    assert W.model_state(get_model("aerial-landcover")) == "missing"
    with pytest.raises(ModelError) as err:
        W.load_model(get_model("fcn_resnet50"))
    msg = str(err.value)
    assert "fcn_resnet50_coco-1167a1af.pth" in msg and str(tmp_path / "empty-torch" / "hub" / "checkpoints") in msg
    with pytest.raises(ModelError, match="aerial-landcover.pt is not in"):
        W.load_model(get_model("aerial-landcover"))


def _weights_file(tmp_path, payload: bytes, good_hash: bool = True):
    digest = hashlib.sha256(payload).hexdigest()[:8] if good_hash else "deadbeef"
    src = tmp_path / "server" / f"tiny-{digest}.pth"
    src.parent.mkdir()
    src.write_bytes(payload)
    return src


def test_download_reports_progress_and_verifies_the_checksum(tmp_path):
    payload = os.urandom(3 * W.CHUNK + 123)
    src = _weights_file(tmp_path, payload)
    calls = []
    dest = W.download_file(src.as_uri(), tmp_path / "cache" / src.name, progress=lambda d, t, m="": calls.append(d))
    assert dest.read_bytes() == payload
    assert calls == sorted(calls) and calls[-1] == len(payload) and len(calls) >= 4
    assert not list((tmp_path / "cache").glob("*.partial"))


def test_damaged_download_is_refused(tmp_path):
    src = _weights_file(tmp_path, b"x" * 1000, good_hash=False)
    with pytest.raises(ModelError, match="checksum"):
        W.download_file(src.as_uri(), tmp_path / "cache" / src.name)
    assert not any((tmp_path / "cache").iterdir())


def test_cancelled_download_leaves_nothing(tmp_path):
    src = _weights_file(tmp_path, os.urandom(4 * W.CHUNK))
    token = CancelToken()

    def progress(done, total, message=""):
        if done >= W.CHUNK:
            token.cancel()

    with pytest.raises(Cancelled):
        W.download_file(src.as_uri(), tmp_path / "cache" / src.name, progress=progress, cancel=token)
    assert not any((tmp_path / "cache").iterdir())


def test_unreachable_download_names_the_file_and_folder(tmp_path):
    dest = tmp_path / "cache" / "deeplabv3_resnet50_coco-cd0a2569.pth"
    with pytest.raises(ModelError) as err:
        W.download_file((tmp_path / "nowhere.pth").as_uri(), dest)
    assert dest.name in str(err.value) and str(dest.parent) in str(err.value)


def test_fetch_downloads_into_the_hub_cache_when_allowed(model_env, tmp_path, monkeypatch):
    spec = get_model("lraspp_mobilenet_v3_large")
    served = _weights_file(tmp_path, W.weights_path(spec).read_bytes())
    monkeypatch.setattr(W, "torchvision_url", lambda source: served.as_uri())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "fresh-torch"))
    assert W.model_state(spec) == "needs download"
    model = W.load_model(spec, allow_download=True)
    assert W.model_state(spec) == "cached" and W.weights_path(spec).parent == tmp_path / "fresh-torch/hub/checkpoints"
    assert isinstance(model, torch.nn.Module)


def test_damaged_cache_file_says_to_delete_it(model_env, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    spec = get_model("lraspp_mobilenet_v3_large")
    W.weights_path(spec).parent.mkdir(parents=True)
    W.weights_path(spec).write_bytes(b"<html>proxy login page</html>")
    with pytest.raises(ModelError, match="not a readable PyTorch weights file.*Delete it"):
        W.load_model(spec)


def _user_checkpoint(tmp_path, arch: str, n_classes: int, state_dict: dict, name="mine.pt"):
    path = tmp_path / name
    save_checkpoint(path, arch=arch, task="semantic", classes=ClassList.from_names([f"c{i}" for i in range(n_classes)]),
                    state_dict=state_dict)
    return path


def test_wrong_architecture_keys_are_named(model_env, tmp_path):
    lraspp = W.build_model(MODELS["lraspp_mobilenet_v3_large"]).state_dict()
    path = _user_checkpoint(tmp_path, "deeplabv3_mobilenet_v3_large", 21, lraspp)
    with pytest.raises(ModelError) as err:
        register_checkpoint(path)
    msg = str(err.value)
    assert "does not fit architecture deeplabv3_mobilenet_v3_large" in msg and "missing" in msg
    assert "unexpected (classifier." in msg and "\n" not in msg


def test_wrong_class_count_is_one_clear_sentence(model_env, tmp_path):
    five_classes = replace(MODELS["lraspp_mobilenet_v3_large"], classes=ClassList.from_names(list("abcde")))
    five = W.build_model(five_classes).state_dict()
    torch.save(five, tmp_path / "plain.pth")
    with pytest.raises(ModelError) as err:
        register_checkpoint(tmp_path / "plain.pth", arch="lraspp_mobilenet_v3_large", classes=["road", "car"])
    msg = str(err.value)
    assert "head has 5 classes but the class list given for it names 3" in msg and "lraspp_mobilenet_v3_large" in msg
    assert ("lraspp_mobilenet_v3_large layer classifier.low_classifier.weight: (5, 40, 1, 1) in the file, "
            "(3, 40, 1, 1) here") in msg
    assert "register it again with 5 class names" in msg


def test_not_a_torch_file(model_env, tmp_path):
    (tmp_path / "notes.pt").write_text("these are not weights")
    with pytest.raises(InputError, match="not a readable PyTorch checkpoint"):
        register_checkpoint(tmp_path / "notes.pt")


def test_unknown_architecture_in_a_checkpoint(model_env, tmp_path):
    path = _user_checkpoint(tmp_path, "segformer_b9", 2, {"w": torch.zeros(1)})
    with pytest.raises((ModelError, KeyError)) as err:
        register_checkpoint(path)
    assert "segformer_b9" in str(err.value)


def test_user_checkpoint_that_disappeared(model_env, tmp_path):
    sd = W.build_model(MODELS["lraspp_mobilenet_v3_large"]).state_dict()
    path = _user_checkpoint(tmp_path, "lraspp_mobilenet_v3_large", 21, sd)
    spec = register_checkpoint(path)
    assert W.model_state(spec) == "cached"
    path.unlink()
    spec = get_model(spec.name)
    assert W.model_state(spec) == "missing"
    with pytest.raises(ModelError, match="does not exist"):
        W.load_model(spec)
