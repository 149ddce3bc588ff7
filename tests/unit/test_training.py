"""Training on real data (small crops of the shared datasets): loss goes down, checkpoints round-trip,
resume continues, cancel stops, augmentation keeps image and labels aligned, bad input is explained."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken
from maskwork.core.models.torch_models.architectures import ARCHITECTURES
from maskwork.core.models.torch_models.checkpoint import read_checkpoint
from maskwork.core.training import instance as inst
from maskwork.core.training import semantic as sem
from maskwork.core.training.augment import PAD, instance_sample, semantic_sample
from maskwork.core.training.datasets import from_coco, from_png_folder, load_data, split, split_by_names
from maskwork.core.training.loop import TrainConfig, train
from maskwork.core.training.runner import CheckpointRunner
from tests.unit.training_fixtures import small_aerial, small_nuclei

torch.set_num_threads(1)  # on a busy 2-core machine one thread is fastest


@pytest.fixture()
def aerial_small(aerial_dir, tmp_path):
    return small_aerial(aerial_dir, tmp_path / "aerial")


@pytest.fixture()
def nuclei_small(nuclei_val, tmp_path):
    return small_nuclei(nuclei_val, tmp_path / "nuclei")


def _cfg(data, out, **kw) -> TrainConfig:
    base = dict(arch="unet_tiny", data=data, out=str(out), epochs=1, steps_per_epoch=2, batch_size=2, crop=64,
                lr=3e-3, seed=3, warmup_steps=1, device="cpu", val_fraction=0.34)
    base.update(kw)
    return TrainConfig(**base)


def test_semantic_steps_reduce_loss(aerial_small):
    data = from_png_folder(aerial_small)
    assert data.ignore_index == 0  # "unlabeled" carries no loss
    torch.manual_seed(0)
    model = ARCHITECTURES["unet_tiny"].build(6)
    x, y = sem.make_batch(data.items, random.Random(0), 2, 64, data.ignore_index, (1.0, 1.0), "cpu")
    opt = torch.optim.AdamW(model.parameters(), 3e-3)
    model.train()
    first = None
    for _ in range(12):
        loss = sem.loss_fn(model, x, y)
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(sem.loss_fn(model, x, y).detach()) < 0.8 * first


def test_instance_steps_reduce_loss(nuclei_small):
    data = from_coco(nuclei_small)
    torch.manual_seed(0)
    model = ARCHITECTURES["maskrcnn_resnet18_lite"].build(2)
    inst.set_train_mode(model, True, 96, 1024)
    images, targets = inst.make_batch(data.items, random.Random(0), 2, 96, 96, 1024, "cpu")
    assert all(len(t["boxes"]) > 0 for t in targets)
    opt = torch.optim.AdamW(model.parameters(), 5e-4)
    losses = []
    for _ in range(6):
        torch.manual_seed(1)  # same RoI sampling each step: the loss compares like with like
        loss, parts = inst.loss_fn(model, images, targets)
        assert {"loss_mask", "loss_objectness", "loss_classifier"} <= set(parts)
        losses.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < 0.8 * losses[0]


def test_checkpoint_round_trip_gives_identical_outputs(aerial_small, tmp_path):
    out = tmp_path / "m.pt"
    records = []
    result = train(_cfg(str(aerial_small), out, command="pytest"), on_epoch=records.append)
    assert result.stopped == "done" and result.best_epoch == 1 and out.is_file()
    assert [r["epoch"] for r in records] == [1] and 0.0 <= records[0]["value"] <= 1.0
    ckpt = read_checkpoint(out)
    assert ckpt["arch"] == "unet_tiny" and ckpt["task"] == "semantic"
    assert [c["name"] for c in ckpt["classes"]][1:] == ["building", "land", "road", "vegetation", "water"]
    assert ckpt["input"]["tile"] == 512 and ckpt["input"]["scale"] == 1.0
    for key in ("data", "epochs", "seed", "command", "machine", "time", "metrics"):
        assert key in ckpt["training"], key
    last = read_checkpoint(result.last_out)
    a, b = CheckpointRunner(out), CheckpointRunner(result.last_out)
    rgb = data_image = from_png_folder(aerial_small).items[0].image()
    assert np.array_equal(a.predict(rgb).label_map, b.predict(data_image).label_map)
    x = sem.to_tensor(rgb)[None]
    fresh = ARCHITECTURES["unet_tiny"].build(6).eval()
    fresh.load_state_dict(last["state_dict"])
    assert torch.equal(fresh(x)["out"], a.model(x)["out"])


def test_resume_continues_from_saved_epoch(aerial_small, tmp_path):
    straight = train(_cfg(str(aerial_small), tmp_path / "a.pt", epochs=2))
    token = CancelToken()  # stop the same 2-epoch run after its first epoch
    first = train(_cfg(str(aerial_small), tmp_path / "b.pt", epochs=2), cancel=token,
                  on_epoch=lambda rec: token.cancel())
    assert first.epochs_done == 1 and first.stopped == "cancelled"
    resumed = train(_cfg(str(aerial_small), tmp_path / "b.pt", epochs=2, resume=True))
    assert resumed.epochs_done == 2 and [r["epoch"] for r in resumed.history] == [1, 2]
    assert resumed.history[0]["train_loss"] == first.history[0]["train_loss"]
    sa = read_checkpoint(straight.last_out)["state_dict"]
    sb = read_checkpoint(resumed.last_out)["state_dict"]
    for k in sa:  # same data order, optimizer state and schedule: the same weights
        assert torch.allclose(sa[k].float(), sb[k].float(), atol=1e-5), k


def test_resume_without_last_file_says_what_to_do(aerial_small, tmp_path):
    with pytest.raises(InputError, match="--resume"):
        train(_cfg(str(aerial_small), tmp_path / "none.pt", resume=True))


def test_cancel_stops_training(aerial_small, tmp_path):
    token = CancelToken()
    seen = []

    def progress(done, total, msg):
        seen.append(done)
        if done == 2:
            token.cancel()

    out = tmp_path / "c.pt"
    result = train(_cfg(str(aerial_small), out, epochs=3, steps_per_epoch=4), progress=progress, cancel=token)
    assert result.stopped == "cancelled" and result.epochs_done == 0
    assert seen == [1, 2] and not out.exists()


def test_from_checkpoint_with_other_class_count_replaces_head(aerial_small, nuclei_small, tmp_path):
    six = tmp_path / "six.pt"
    train(_cfg(str(aerial_small), six))
    two = tmp_path / "two.pt"
    data = from_coco(nuclei_small, task="semantic")
    result = train(_cfg(data, two, init=str(six), val_fraction=0.34))
    head = read_checkpoint(two)["state_dict"]["head.weight"]
    assert result.best_epoch == 1 and head.shape[0] == 2
    enc_six = read_checkpoint(six)["state_dict"]["down.0.0.weight"]
    assert enc_six.shape == read_checkpoint(two)["state_dict"]["down.0.0.weight"].shape


def test_semantic_augmentation_keeps_image_and_labels_aligned(aerial_small):
    item = from_png_folder(aerial_small).items[0]
    img = item.image()
    label = (img[..., 0] > 128).astype(np.uint8) + 1  # a label that is a function of the pixels
    rng = random.Random(5)
    for _ in range(10):
        a_img, a_lab = semantic_sample(img, label, 120, rng, scale=(1.0, 1.0), jitter=0)
        inside = a_lab != PAD
        assert inside.sum() == 96 * 96  # the 96 px image, padded to the 120 px crop
        assert np.array_equal(a_lab[inside], (a_img[..., 0][inside] > 128).astype(np.uint16) + 1)


def test_instance_augmentation_boxes_follow_masks(nuclei_small):
    item = from_coco(nuclei_small).items[0]
    rng = random.Random(2)
    for _ in range(5):
        img, masks, boxes, ids = instance_sample(item.image(), item.instances(), 64, rng, base_scale=1.5)
        assert img.shape[:2] == masks.shape[1:] and len(masks) == len(boxes) == len(ids)
        for m, (x0, y0, x1, y1) in zip(masks, boxes):
            ys, xs = np.nonzero(m)
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x0, y0, x1, y1)


def test_splits_are_fixed_by_seed_and_names(aerial_dir):
    data = from_png_folder(aerial_dir)
    a_train, a_val = split(data, 0.2, seed=4)
    b_train, b_val = split(data, 0.2, seed=4)
    assert a_val.names() == b_val.names() and not set(a_val.names()) & set(a_train.names())
    tr, va = split_by_names(data, ["tile7_"])
    assert va.names() and all(n.startswith("tile7_") for n in va.names())
    assert not any(n.startswith("tile7_") for n in tr.names())


def test_bad_training_data_is_explained(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_data(tmp_path / "missing")
    (tmp_path / "images").mkdir()
    with pytest.raises(InputError, match="masks/"):
        load_data(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="bad.json"):
        load_data(bad)


def test_project_corrected_images_become_training_data(aerial_small, nuclei_small, tmp_path):
    from maskwork.core.domain.annotation import Instance, Status
    from maskwork.core.domain.masks import Mask
    from maskwork.core.store.project import Project

    src = from_png_folder(aerial_small)
    folder = tmp_path / "proj"
    folder.mkdir()
    for it in src.items:
        from PIL import Image
        Image.fromarray(it.image()).save(folder / it.name)
    project = Project.create(folder, src.classes, "semantic")
    corrected = src.items[:2]  # the third image stays "not started": it must not be trained on
    for it in corrected:
        ann = project.annotation(it.name)
        ann.corrected.label_map = it.label_map().copy()
        ann.status = Status.CORRECTED
        project.mark_dirty(it.name)
    project.save()
    data = load_data(folder)
    assert data.task == "semantic" and data.names() == [it.name for it in corrected]
    assert data.ignore_index == 0 and data.classes.names() == src.classes.names()
    for got, want in zip(data.items, corrected):
        assert np.array_equal(got.label_map(), want.label_map())
        assert np.array_equal(got.image(), want.image())
    result = train(_cfg(str(folder), tmp_path / "p.pt", val_fraction=0.5))
    assert result.best_epoch == 1

    coco = from_coco(nuclei_small)
    ifolder = tmp_path / "iproj"
    ifolder.mkdir()
    it = coco.items[0]
    from PIL import Image
    Image.fromarray(it.image()).save(ifolder / "cells.png")
    iproject = Project.create(ifolder, coco.classes, "instance")
    ann = iproject.annotation("cells.png")
    truth = it.instances()
    ann.corrected.instances = [Instance(i + 1, int(c), Mask.from_full(m)) for i, (m, c) in
                               enumerate(zip(truth.masks, truth.class_ids))]
    ann.status = Status.CORRECTED
    iproject.mark_dirty("cells.png")
    iproject.save()
    idata = load_data(ifolder)
    got = idata.items[0].instances()
    assert idata.task == "instance" and np.array_equal(got.masks, truth.masks)
    assert np.array_equal(got.class_ids, truth.class_ids)


def test_project_with_background_class_learns_class_zero(nuclei_val, tmp_path):
    """A nuclei project's class 0 is "background": a real class, so it is not ignored by the loss."""
    import shutil

    from PIL import Image

    from maskwork.core.domain.annotation import ClassList, Status
    from maskwork.core.formats.coco import load_coco
    from maskwork.core.store.project import Project

    dataset = load_coco(nuclei_val, nuclei_val.parent / "images")
    ann0 = dataset.annotations[0]
    shutil.copy(nuclei_val.parent / "images" / ann0.file_name, tmp_path / ann0.file_name)
    project = Project.create(tmp_path, ClassList.from_names(["background", "nucleus"]), "semantic")
    ann = project.annotation(ann0.file_name)
    label = np.zeros((ann.height, ann.width), np.uint8)
    for obj in ann0.corrected.instances:
        label[obj.mask.to_full()] = 1
    ann.corrected.label_map, ann.status = label, Status.CORRECTED
    project.mark_dirty(ann0.file_name)
    project.save()
    data = load_data(tmp_path)
    assert data.ignore_index is None
    assert np.array_equal(data.items[0].label_map(), label)
    assert Image.open(tmp_path / ann0.file_name).size == (ann.width, ann.height)
