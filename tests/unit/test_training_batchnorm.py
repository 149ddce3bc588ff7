"""Issue 23: a fine-tune that trains BatchNorm keeps the start model's statistics, moved only by what the weights
changed (core/training/batchnorm.py `Shift`), where re-estimating them from a few corrected images would replace
what the model learned from all its training images; and the optimizer is a declared choice (optim.OPTIMIZERS)."""
from __future__ import annotations

import random

import pytest
import torch

from maskwork.core.domain.errors import InputError
from maskwork.core.models.catalog.registry import get_model, weights_file
from maskwork.core.models.torch_models.checkpoint import read_checkpoint
from maskwork.core.training import batchnorm as bn
from maskwork.core.training.datasets import from_coco, load_data
from maskwork.core.training.loop import TrainConfig, build, train
from maskwork.core.training.schedule import replay_source
from tests.unit.training_fixtures import small_nuclei

torch.set_num_threads(1)
START = "nuclei-semantic"


def _model():
    cfg = TrainConfig(arch="unet_small", data=None, out="unused.pt", init=str(weights_file(get_model(START))))
    return build(cfg, 2).eval()


def _stats(model) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(m.running_mean.clone(), m.running_var.clone()) for m in model.modules()
            if isinstance(m, torch.nn.BatchNorm2d)]


@pytest.fixture(scope="module")
def replay():
    return load_data(str(replay_source(START)), "semantic")  # real nuclei training images


def test_shift_keeps_the_start_statistics_when_the_weights_did_not_move(replay):
    model = _model()
    start = _stats(model)
    shift = bn.Shift(model, replay, 2, 4, 64, None, (1.0, 1.0), "cpu", seed=3)
    shift.apply(model)
    assert all(torch.allclose(a, b) and torch.allclose(v, w) for (a, v), (b, w) in zip(start, _stats(model)))
    # re-estimating them from these few crops instead replaces what the model learned on all its training images
    bn.recalibrate(model, replay, 2, 4, 64, None, (1.0, 1.0), "cpu", random.Random(3))
    assert not all(torch.allclose(a, b) for (a, _), (b, _) in zip(start, _stats(model)))


def test_shift_follows_what_the_weights_did_to_the_activations(replay):
    """Doubling the first convolution doubles what its BatchNorm sees: its variance is the start model's x 4 and its
    mean moves by what it measured before; the layers after it see the same normalised values, nothing else moves."""
    model = _model()
    start = _stats(model)
    shift = bn.Shift(model, replay, 2, 4, 64, None, (1.0, 1.0), "cpu", seed=3)
    with torch.no_grad():
        model.down[0][0].weight.mul_(2.0)
    shift.apply(model)
    after = _stats(model)
    (mean0, var0), (mean1, var1) = start[0], after[0]
    assert torch.allclose(var1, var0 * 4, rtol=1e-3)
    assert torch.allclose(mean1 - mean0, shift.before[0][0], rtol=1e-3, atol=1e-5)
    assert all(torch.allclose(a, b, rtol=1e-3, atol=1e-4) for (a, _), (b, _) in zip(start[1:], after[1:]))


def test_a_fine_tune_with_shifted_statistics_trains_and_records_it(nuclei_val, tmp_path, replay):
    data = from_coco(small_nuclei(nuclei_val, tmp_path / "n", count=3, size=96), task="semantic")
    start = str(weights_file(get_model(START)))
    cfg = TrainConfig(arch="unet_small", data=data, val_names=[data.items[0].name], out=str(tmp_path / "t.pt"),
                      init=start, device="cpu", seed=1, epochs=1, steps_per_epoch=2, crop=64, lr=1e-3,
                      warmup_steps=1, freeze_bn=False, bn_stats="shift", bn_batches=2, optimizer="sgd")
    result = train(cfg)
    assert result.epochs_done == 1
    tuned, original = read_checkpoint(cfg.last_path()), read_checkpoint(start)["state_dict"]
    assert tuned["training"]["config"]["bn_stats"] == "shift" and tuned["training"]["config"]["optimizer"] == "sgd"
    changed = [k for k in original if k.endswith("running_var") and not torch.equal(tuned["state_dict"][k],
                                                                                     original[k])]
    assert changed  # the statistics followed the weights ...
    ratio = max(float((tuned["state_dict"][k] / original[k]).log().abs().max()) for k in changed)
    # ... by a shift (measured: at most 2 % anywhere), not a re-estimate from three images' crops (up to a factor 17)
    assert ratio < 0.5


def test_an_unknown_optimizer_is_refused_with_the_choices(nuclei_val, tmp_path):
    data = from_coco(small_nuclei(nuclei_val, tmp_path / "n", count=2, size=96), task="semantic")
    cfg = TrainConfig(arch="unet_small", data=data, val_names=[data.items[0].name], out=str(tmp_path / "t.pt"),
                      device="cpu", epochs=1, steps_per_epoch=1, crop=64, optimizer="adam")
    with pytest.raises(InputError, match="unknown optimizer 'adam'; use one of adamw, sgd"):
        train(cfg)


def test_train_bn_on_a_fine_tune_shifts_the_start_statistics_and_from_scratch_re_estimates(nuclei_val):
    from maskwork.core.cli import build_parser
    from maskwork.core.cli.train_commands import config_from_args

    def config(*extra):
        return config_from_args(build_parser().parse_args(["train", "--arch", "unet_small", "--data",
                                                           str(nuclei_val), "--out", "x.pt", *extra]))

    tuned = config("--from", START, "--train-bn")
    assert not tuned.freeze_bn and tuned.bn_stats == "shift"
    assert config("--from", START).freeze_bn  # the default fine-tune keeps them as they are
    assert config("--train-bn").bn_stats == "recalibrate"  # from scratch there are no statistics to keep
