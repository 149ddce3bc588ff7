"""Issue 23: a semantic model's class decision offsets are tuned for mean IoU on training images
(core/training/calibrate.py): found on real nuclei images, added to the model's own logit bias (so every predictor
uses them), never erasing a class the images do not show, and kept out of the weights the next epoch trains."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from maskwork.core.domain.annotation import ClassList
from maskwork.core.models.catalog.registry import get_model, weights_file
from maskwork.core.models.torch_models.architectures import get_architecture
from maskwork.core.models.torch_models.checkpoint import read_checkpoint, save_checkpoint
from maskwork.core.training import calibrate
from maskwork.core.training import semantic as sem
from maskwork.core.training.datasets import load_data
from maskwork.core.training.loop import TrainConfig, build, train
from maskwork.core.training.schedule import CALIBRATE_IMAGES, replay_source, settings
from tests.unit.training_fixtures import small_nuclei

torch.set_num_threads(1)
START = "nuclei-semantic"
PUSH = 2.0  # logits added to "nucleus": the model then calls nuclei far too eagerly


def _model(push: float = 0.0):
    cfg = TrainConfig(arch="unet_small", data=None, out="unused.pt", init=str(weights_file(get_model(START))))
    model = build(cfg, 2).eval()
    calibrate.shift_bias(model, "unet_small", np.array([0.0, push]))
    return model


@pytest.fixture(scope="module")
def nuclei():
    """Real nuclei training images (the replay set: 32 images of nuclei train)."""
    return load_data(str(replay_source(START)), "semantic")


def _miou(model, items) -> float:
    conf = sum(sem.confusion(it.label_map(), sem.predict_label_map(model, it.image()), 2) for it in items)
    return sem.iou_from_confusion(conf)["miou"]


def test_offsets_found_on_real_images_undo_a_push_and_raise_mean_iou_on_other_images(nuclei):
    model = _model(PUSH)
    tuned_on, scored = nuclei.items[:8], nuclei.items[8:16]
    before = _miou(model, scored)
    record = calibrate.tune(model, "unet_small", tuned_on, 512, 1.0, None, seed=0)
    assert record["offsets"][0] == 0.0
    assert -PUSH - 1.0 <= record["offsets"][1] <= -1.0  # pulled back (8 images: not exactly to where it was)
    assert record["miou_after"] > record["miou_before"] + 0.01
    assert _miou(model, scored) > before + 0.01  # images it never saw gain too


def test_a_well_set_model_keeps_offsets_of_zero_when_they_gain_nothing():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 20000)
    logits = np.stack([-(truth * 2.0 - 1) + rng.normal(0, 0.3, truth.size),
                       (truth * 2.0 - 1) + rng.normal(0, 0.3, truth.size)], 1).astype(np.float32)
    offsets, before, after = calibrate.fit(logits, truth)
    assert (offsets == 0).all() and before == after == pytest.approx(1.0)


def test_a_class_the_images_do_not_show_is_never_lowered():
    """Lowering class 2 would raise these images' mean IoU (class 2 leaves the union) and erase it everywhere."""
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 2, 20000)
    logits = np.zeros((truth.size, 3), np.float32)
    logits[np.arange(truth.size), truth] = 2.0
    logits[:500, 2] = 3.0  # predicted on 500 pixels, true nowhere
    offsets, before, after = calibrate.fit(logits, truth)
    assert offsets[2] == 0.0
    # a class the images do show is moved
    logits[:, 1] += 2.5
    offsets, before, after = calibrate.fit(logits, truth)
    assert offsets[1] < -1.0 and after > before


@pytest.mark.parametrize("arch", sorted(calibrate.LOGIT_LAYERS))
def test_the_offsets_move_each_architectures_logits_by_exactly_that_much(arch):
    model = get_architecture(arch).build(3).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = model(x)["out"]
        calibrate.shift_bias(model, arch, np.array([0.0, -0.5, 0.75]))
        after = model(x)["out"]
    shift = (after - before).mean(dim=(0, 2, 3))
    assert torch.allclose(shift, torch.tensor([0.0, -0.5, 0.75]), atol=1e-4)
    assert torch.allclose(after - before, shift[None, :, None, None].expand_as(after), atol=1e-4)


def _pushed(tmp_path):
    """The bundled model with PUSH added to its nucleus logit, saved as a checkpoint (and its state dict)."""
    ckpt = read_checkpoint(weights_file(get_model(START)))
    pushed = tmp_path / "pushed.pt"
    state = {k: v.clone() for k, v in ckpt["state_dict"].items()}
    state["head.bias"][1] += PUSH
    save_checkpoint(pushed, arch="unet_small", task="semantic", classes=ClassList.from_list(ckpt["classes"]),
                    state_dict=state, input_spec=ckpt["input"])
    return pushed, state


def test_training_keeps_the_tuned_offsets_in_the_saved_model_not_in_the_weights_it_trains(tmp_path, nuclei_val):
    """A start model pushed to call nuclei too eagerly, fine-tuned at learning rate 0: each epoch's tuned offsets
    undo the push, the kept model carries them in its bias, and the epoch after a resume finds them again (they
    were taken out of the weights it trains on)."""
    pushed, state = _pushed(tmp_path)
    data = small_nuclei(nuclei_val, tmp_path / "data", count=6, size=160)
    plan = settings("semantic", str(pushed), epochs=1, lr=0.0, min_steps=1, guard=False,
                    replay=str(replay_source(START)), replay_share=0.5)  # 4 corrected + 32 replayed images
    assert plan["calibrate_images"] == CALIBRATE_IMAGES
    cfg = TrainConfig(arch="unet_small", data=str(data), val_fraction=0.34, out=str(tmp_path / "out.pt"),
                      init=str(pushed), seed=0, device="cpu", threads=1, **plan)
    result = train(cfg)
    first = result.history[-1]["calibration"]
    assert first["images"] == 36
    assert first["offsets"][1] < -0.25 and result.improved  # the tuned model beat the pushed start
    saved = read_checkpoint(tmp_path / "out.pt")["state_dict"]["head.bias"]
    assert saved[1] - saved[0] == pytest.approx(float(state["head.bias"][1] - state["head.bias"][0])
                                                + first["offsets"][1], abs=1e-5)
    resumed = train(TrainConfig(**{**cfg.__dict__, "epochs": 2, "resume": True}))
    assert resumed.history[-1]["calibration"]["offsets"] == first["offsets"]  # lr 0: the same weights, same offsets


def test_a_training_run_refuses_a_negative_image_count(tmp_path, nuclei_val):
    from maskwork.core.domain.errors import InputError

    data = small_nuclei(nuclei_val, tmp_path / "data", count=2)
    with pytest.raises(InputError, match="calibrate_images"):
        train(TrainConfig(arch="unet_small", data=str(data), out=str(tmp_path / "o.pt"), calibrate_images=-1))


def test_train_from_prints_each_epochs_offsets_and_calibrate_images_0_turns_them_off(nuclei_val, tmp_path, capsys):
    from maskwork.core.cli import run

    pushed, _ = _pushed(tmp_path)
    coco = small_nuclei(nuclei_val, tmp_path / "n", count=calibrate.MIN_IMAGES + 4, size=96)
    base = ["train", "--arch", "unet_small", "--data", str(coco), "--from", str(pushed), "--epochs", "1",
            "--steps-per-epoch", "1", "--crop", "64", "--lr", "0"]
    assert run(base + ["--out", str(tmp_path / "a.pt")]) == 0
    epoch_line = capsys.readouterr().err.split("epoch 1:")[1].splitlines()[0]
    assert "decision offsets [0.0, -" in epoch_line and "training images" in epoch_line
    assert run(base + ["--out", str(tmp_path / "b.pt"), "--calibrate-images", "0"]) == 0
    assert "decision offsets" not in capsys.readouterr().err
    assert read_checkpoint(tmp_path / "b.pt")["training"]["config"]["calibrate_images"] == 0
