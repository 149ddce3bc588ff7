"""Issue 23: a fine-tune of a bundled nuclei model mixes in images the model was trained on (resources/replay), and
can keep layers fixed (`freeze`); the schedule that the CLI and the window share carries both."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from maskwork.core.cli import build_parser
from maskwork.core.cli.train_commands import config_from_args
from maskwork.core.domain.annotation import ClassList
from maskwork.core.models.catalog.registry import get_model, weights_file
from maskwork.core.models.torch_models.checkpoint import read_checkpoint
from maskwork.core.training.datasets import Item, from_coco, load_data, mix_items
from maskwork.core.training.loop import TrainConfig, train
from maskwork.core.training.schedule import GUARD, replay_source, settings
from tests.unit.training_fixtures import small_nuclei

torch.set_num_threads(1)
ARCH = {"instance": "maskrcnn_resnet18_lite", "semantic": "unet_small"}


def _items(prefix: str, n: int) -> list[Item]:
    return [Item(f"{prefix}{i}", lambda: None) for i in range(n)]


@pytest.mark.parametrize("share", [0.25, 0.5, 0.75])
def test_replay_images_make_up_the_share_of_the_draws(share):
    mixed = mix_items(_items("own", 10), _items("replay", 32), share)
    assert sum(it.name.startswith("replay") for it in mixed) / len(mixed) == pytest.approx(share, abs=0.02)
    assert {it.name for it in mixed if it.name.startswith("own")} == {f"own{i}" for i in range(10)}
    assert [it.name for it in mix_items(_items("own", 10), _items("replay", 32), 0.0)] == [f"own{i}" for i in range(10)]
    assert [it.name for it in mix_items(_items("own", 10), [], 0.5)] == [f"own{i}" for i in range(10)]


def test_a_fine_tune_of_a_bundled_nuclei_model_replays_images_it_was_trained_on(nuclei_val):
    for task, name in (("instance", "nuclei-instance"), ("semantic", "nuclei-semantic")):
        by_name, by_file = settings(task, name), settings(task, str(weights_file(get_model(name))))
        assert by_name["replay"] == by_file["replay"] == str(replay_source(name)) and by_name["replay_share"] > 0
        replay = load_data(by_name["replay"], task)
        assert replay.classes.names() == [c["name"] for c in read_checkpoint(weights_file(get_model(name)))["classes"]]
        assert len(replay.items) == 32
        val = {image["file_name"] for image in json.loads(nuclei_val.read_text())["images"]}
        assert not val & {it.name for it in replay.items}  # training images, never the validation ones
    assert "replay" not in settings("semantic", "aerial-landcover")  # no replay set shipped for it
    assert "replay" not in settings("semantic", None)  # from scratch
    assert "replay" not in settings("instance", "nuclei-instance", replay_share=0.0)  # --no-replay


def test_a_fine_tune_of_a_bundled_nuclei_model_is_guarded_by_other_training_images(nuclei_val):
    """The guard set (resources/replay/nuclei-guard): 16 images the bundled nuclei models were trained on, none of
    them replayed (a fine-tune never trains on them) and none from nuclei val (where the benchmark scores)."""
    train_names = {image["file_name"] for image in json.loads((nuclei_val.parent / "train.json").read_text())["images"]}
    val = {image["file_name"] for image in json.loads(nuclei_val.read_text())["images"]}
    for task, name in (("instance", "nuclei-instance"), ("semantic", "nuclei-semantic")):
        plan = settings(task, name)
        by_file = settings(task, str(weights_file(get_model(name))))
        assert plan["guard"] == str(replay_source(name, GUARD)) == by_file["guard"]
        guard, replay = load_data(plan["guard"], task), load_data(plan["replay"], task)
        names = {it.name for it in guard.items}
        assert len(names) == 16 and names <= train_names and not names & val
        assert not names & {it.name for it in replay.items}
        assert guard.classes.names() == replay.classes.names()
        cli = config_from_args(build_parser().parse_args(["train", "--arch", ARCH[task], "--data", str(nuclei_val),
                                                          "--from", name, "--out", "x.pt", "--no-guard"]))
        assert cli.guard is None and cli.replay  # --no-guard leaves the replay
    assert "guard" not in settings("semantic", "aerial-landcover")  # no guard set shipped for it
    assert "guard" not in settings("instance", None)  # from scratch nothing to guard
    assert settings("instance", "nuclei-instance", keep_start=False).get("guard")  # the loop ignores it then


def test_frozen_layers_stay_and_the_replay_is_recorded(nuclei_val, tmp_path):
    data = from_coco(small_nuclei(nuclei_val, tmp_path / "n", count=3, size=96), task="semantic")
    start = str(weights_file(get_model("nuclei-semantic")))
    out = tmp_path / "tuned.pt"
    plan = settings("semantic", start, epochs=1, steps_per_epoch=2, crop=64, lr=1e-3, warmup_steps=1,
                    keep_start=False)
    cfg = TrainConfig(arch="unet_small", data=data, val_names=[data.items[0].name], out=str(out), init=start,
                      device="cpu", seed=1, **{**plan, "freeze": ("down.",)})
    assert cfg.replay and cfg.replay_share == 0.5
    train(cfg)
    tuned, original = read_checkpoint(out)["state_dict"], read_checkpoint(start)["state_dict"]
    frozen = [k for k in original if k.startswith("down.") and k.endswith(".weight")]
    trained = [k for k in original if k.startswith("merge.") and k.endswith(".weight")]
    assert frozen and all(torch.equal(tuned[k], original[k]) for k in frozen)
    assert any(not torch.equal(tuned[k], original[k]) for k in trained)
    assert read_checkpoint(out)["training"]["config"]["replay"] == cfg.replay



def test_a_project_of_other_classes_trains_without_the_replay_and_says_so(nuclei_val, tmp_path):
    """A user's own classes on a bundled nuclei model: the replay (nucleus) is left out, not the training."""
    data = from_coco(small_nuclei(nuclei_val, tmp_path / "n", count=3, size=96), task="semantic")
    data = replace(data, classes=ClassList.from_names(["background", "cell"]))
    start = str(weights_file(get_model("nuclei-semantic")))
    plan = settings("semantic", start, epochs=1, steps_per_epoch=2, crop=64, warmup_steps=1, keep_start=False)
    assert plan["replay"]
    out = tmp_path / "cells.pt"
    cfg = TrainConfig(arch="unet_small", data=data, val_names=[data.items[0].name], out=str(out), init=start,
                      device="cpu", seed=1, **plan)
    result = train(cfg)
    assert result.notes and result.notes[0].startswith("not replaying") and "'cell'" in result.notes[0]
    record = read_checkpoint(out)["training"]["config"]
    assert record["replay"] is None and record["replay_share"] == 0.0


def test_an_epoch_that_falls_on_the_guard_images_is_not_kept(nuclei_val, tmp_path):
    """keep_start with a guard (TrainConfig.guard): an epoch is kept only if it also does not fall on images the
    start model does well on; a floor above any score keeps the start model, and the record says why."""
    data = from_coco(small_nuclei(nuclei_val, tmp_path / "n", count=3, size=96), task="semantic")
    guard = from_coco(small_nuclei(nuclei_val, tmp_path / "g", count=2, size=96), task="semantic")
    start = str(weights_file(get_model("nuclei-semantic")))
    plan = settings("semantic", start, epochs=1, steps_per_epoch=2, crop=64, lr=1e-3, warmup_steps=1, guard=guard)
    assert plan["keep_start"] and plan["guard"] is guard
    cfg = TrainConfig(arch="unet_small", data=data, val_names=[data.items[0].name], out=str(tmp_path / "t.pt"),
                      init=start, device="cpu", seed=1, guard_tolerance=-2.0, **plan)
    result = train(cfg)
    assert not result.improved and result.best_epoch == 0
    assert result.history[0]["guard"] is not None and result.history[1]["guarded"]
    assert read_checkpoint(cfg.out)["training"]["start_model_kept"]
    loose = train(replace(cfg, out=str(tmp_path / "u.pt"), guard_tolerance=2.0))  # never falls that far
    assert not any(r.get("guarded") for r in loose.history)


def test_train_from_a_bundled_nuclei_model_reports_the_guard_images_and_no_guard_leaves_them_out(nuclei_val,
                                                                                                  tmp_path, capsys):
    from maskwork.core.cli import run

    coco = small_nuclei(nuclei_val, tmp_path / "n", count=3, size=96)
    base = ["train", "--arch", "unet_small", "--data", str(coco), "--from", "nuclei-semantic", "--epochs", "1",
            "--steps-per-epoch", "1", "--crop", "64"]
    assert run(base + ["--out", str(tmp_path / "a.pt")]) == 0
    said = capsys.readouterr().err
    start_line = next(line for line in said.splitlines() if line.startswith("start model nuclei-semantic"))
    assert "on the guard images" in start_line and "does not fall on the guard images" in start_line
    epoch_line = said.split("epoch 1:")[1].splitlines()[0]
    assert epoch_line.count("on the guard images") - epoch_line.count("fell on the guard images") == 1
    assert run(base + ["--out", str(tmp_path / "b.pt"), "--no-guard"]) == 0
    assert "guard" not in capsys.readouterr().err
