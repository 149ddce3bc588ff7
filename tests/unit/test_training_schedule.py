"""Issue 23: one training schedule for `maskwork train` and the window, read from the start model's header, and a
fine-tune that makes the model worse on the held-out images keeps the start model."""
from __future__ import annotations

import pytest
import torch

from maskwork.core.cli import build_parser
from maskwork.core.cli.train_commands import config_from_args
from maskwork.core.models.catalog.registry import get_model, weights_file
from maskwork.core.models.torch_models.checkpoint import read_checkpoint
from maskwork.core.training import semantic as sem
from maskwork.core.training.datasets import from_coco, held_out_names, select
from maskwork.core.training.loop import TrainConfig, train
from maskwork.core.training.runner import CheckpointRunner
from maskwork.core.training.schedule import MEASURED_GAIN, expected_gain, settings, suggest
from tests.unit.training_fixtures import small_nuclei

torch.set_num_threads(1)


def _cli(*argv: str) -> TrainConfig:
    return config_from_args(build_parser().parse_args(["train", *argv]))


def test_train_from_without_flags_resolves_the_fine_tune_schedule(tmp_path):
    cfg = _cli("--arch", "maskrcnn_resnet18_lite", "--data", "d.json", "--from", "nuclei-instance",
               "--out", str(tmp_path / "o.pt"))
    fine = suggest("instance", True)
    assert (cfg.epochs, cfg.min_steps, cfg.lr, cfg.warmup_steps) == (fine.epochs, fine.min_steps, fine.lr,
                                                                      fine.warmup_steps)
    assert cfg.keep_start and cfg.freeze_bn
    header_input = read_checkpoint(weights_file(get_model("nuclei-instance")))["input"]
    assert (cfg.min_size, cfg.max_size) == (header_input["min_size"], header_input["max_size"]) == (320, 1024)
    scratch = _cli("--arch", "maskrcnn_resnet18_lite", "--data", "d.json", "--out", str(tmp_path / "o.pt"))
    assert (scratch.lr, scratch.min_size, scratch.keep_start) == (suggest("instance", False).lr, 512, False)
    told = _cli("--arch", "unet_small", "--data", "d", "--from", "aerial-landcover", "--out", "o.pt", "--lr", "0.01",
                "--scale", "0.75", "--accept-worse")
    assert (told.lr, told.scale, told.keep_start, told.freeze_bn) == (0.01, 0.75, False, True)
    assert _cli("--arch", "unet_small", "--data", "d", "--from", "aerial-landcover", "--out", "o.pt").scale == 0.5


def test_held_out_images_are_chosen_not_drawn():
    names = [f"img{i:02d}.png" for i in range(10)]
    assert held_out_names(names, 0.2) == ["img02.png", "img07.png"] == held_out_names(list(names), 0.2)
    assert held_out_names(names[:1], 0.2) == [] and len(held_out_names(names[:2], 0.9)) == 1


def _miou(checkpoint, data) -> float:
    runner = CheckpointRunner(checkpoint)
    return sem.validate(runner.model, data.items, 2, data.ignore_index, 512, "cpu")["miou"]


@pytest.mark.parametrize("lr", [0.5])
def test_a_fine_tune_that_makes_the_model_worse_keeps_the_start_model(nuclei_val, tmp_path, lr):
    data = from_coco(small_nuclei(nuclei_val, tmp_path / "n", count=3, size=96), task="semantic")
    names = [it.name for it in data.items]
    start = str(weights_file(get_model("nuclei-semantic")))
    out = tmp_path / "tuned.pt"
    plan = settings("semantic", start, epochs=1, steps_per_epoch=2, crop=64, lr=lr, warmup_steps=1, batch_size=4,
                    replay_share=0.0)  # 4 crops of the 2 training images: the rate harms without diverging
    assert plan["keep_start"]
    cfg = TrainConfig(arch="unet_small", data=data, val_names=held_out_names(names, 0.2), out=str(out), init=start,
                      device="cpu", seed=1, **plan)
    result = train(cfg)
    val = select(data, cfg.val_names)
    assert result.history[1]["value"] < result.baseline  # the absurd rate really made the model worse
    assert not result.improved and result.best_epoch == 0
    assert _miou(out, val) == pytest.approx(_miou(start, val)) == pytest.approx(result.baseline)
    kept, original = read_checkpoint(out)["state_dict"], read_checkpoint(start)["state_dict"]
    assert all(torch.equal(kept[k], original[k]) for k in original)


@pytest.mark.parametrize("n", [4, 7, 12, 30])
def test_the_dialogs_expected_gain_quotes_the_rows_nearest_the_projects_size(n):
    """The train dialog's sentence carries the benchmark's figures (docs/BENCHMARKS.md), both kinds of images, for
    each model the row measured with the number of corrected images nearest the project's."""
    for task in ("semantic", "instance"):
        text = expected_gain(task, n)
        rows = [m for m in MEASURED_GAIN if m.task == task]
        assert rows and text.startswith("Expected gain, from the benchmark") and f"You have {n}" in text
        for model, images in {(m.model, m.images) for m in rows}:
            ks = sorted({m.k for m in rows if (m.model, m.images) == (model, images)}, key=lambda k: (abs(k - n), k))
            m = next(m for m in rows if (m.model, m.images, m.k) == (model, images, ks[0]))
            assert f"{m.model} fine-tuned on {m.k} corrected images" in text and m.images in text
            assert f"{m.before:.3f}" in text
            assert all(f"{model} fine-tuned on {k} corrected" not in text for k in ks[1:])
    gained = next(m for m in MEASURED_GAIN if "never saw" in m.images)
    assert f"to {gained.after:.3f} ({gained.after - gained.before:+.3f})" in expected_gain(gained.task, 5)


def test_the_outcome_says_when_epochs_beat_the_held_out_images_but_fell_on_the_guard_set():
    from maskwork.core.training.project_run import TrainOutcome

    refused = TrainOutcome(None, "t.pt", "done", 0.84, "miou", 3, baseline=0.84, improved=False, held_out=1,
                           guarded=2)
    text = refused.before_after("mean IoU", "nuclei-semantic")
    assert text.startswith("No epoch was kept: 2 beat nuclei-semantic on your 1 held-out corrected image (before "
                           "mean IoU 0.840) but fell on other images nuclei-semantic was trained on")
    plain = TrainOutcome(None, "t.pt", "done", 0.84, "miou", 3, baseline=0.84, improved=False, held_out=2)
    assert plain.before_after("mean IoU", "nuclei-semantic").startswith("No epoch beat nuclei-semantic on your 2")


@pytest.mark.parametrize("name", ["nuclei-instance", "nuclei-semantic", "aerial-landcover"])
def test_each_model_card_carries_the_measured_fine_tune_rows(name):
    """The cards' "Fine-tuning on your corrected images" section is what tools/model_card.py writes from
    MEASURED_GAIN: a changed benchmark row that was not carried to the card fails here."""
    from maskwork.core.resources import bundled_models_dir
    from tools.model_card import fine_tune_lines

    card = (bundled_models_dir() / f"{name}.md").read_text()
    lines = fine_tune_lines(name)
    assert lines and "\n".join(lines) in card
