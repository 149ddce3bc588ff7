"""evaluate() against independent computations on real data: numpy IoU sums and a direct COCOeval."""
from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from maskwork.core.cli import run
from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.masks import Mask
from maskwork.core.models.results import InstanceResult, SemanticResult
from maskwork.core.models.torch_models.architectures import ARCHITECTURES
from maskwork.core.models.torch_models.checkpoint import save_checkpoint
from maskwork.core.training import evaluate as ev
from maskwork.core.training.datasets import from_png_folder
from maskwork.core.training.runner import CheckpointRunner
from tests.unit.training_fixtures import small_aerial, small_nuclei

torch.set_num_threads(1)  # on a busy 2-core machine one thread is fastest


@pytest.fixture()
def aerial_small(aerial_dir, tmp_path):
    return small_aerial(aerial_dir, tmp_path / "aerial")


@pytest.fixture()
def nuclei_small(nuclei_val, tmp_path):
    return small_nuclei(nuclei_val, tmp_path / "nuclei", count=3)


def _colour_classes(rgb: np.ndarray) -> np.ndarray:
    """A 'model' that labels pixels by brightness: deterministic, imperfect, independent of the truth."""
    return np.clip(1 + rgb.astype(int).sum(axis=2) // 150, 1, 5).astype(np.uint8)


class _FakeSemantic:
    task = "semantic"

    def __init__(self, classes):
        self.classes = classes

    def predict(self, rgb, score_threshold=0.5):
        lm = _colour_classes(rgb)
        return SemanticResult(lm, np.ones(lm.shape, np.float32), self.classes)


def test_semantic_miou_is_dataset_wide_and_skips_unlabeled(aerial_small, monkeypatch):
    data = from_png_folder(aerial_small)
    monkeypatch.setattr(ev, "make_predictor", lambda model, device=None, int8=False: _FakeSemantic(data.classes))
    table = ev.evaluate("fake", str(aerial_small), per_image=True)
    inter, union = np.zeros(6), np.zeros(6)
    for it in data.items:
        truth, pred = it.label_map(), _colour_classes(it.image())
        labelled = truth != 0
        for c in range(1, 6):
            inter[c] += np.sum((truth == c) & (pred == c) & labelled)
            union[c] += np.sum(((truth == c) | (pred == c)) & labelled)
    ious = [inter[c] / union[c] for c in range(1, 6) if union[c] > 0]
    assert table.summary["miou"] == pytest.approx(np.mean(ious))
    assert 0 < table.summary["miou"] < 1
    assert [r["image"] for r in table.per_image] == data.names()
    assert "unlabeled" not in table.summary["iou"]


class _FakeInstance:
    """Returns the truth of each image, damaged: every third object missed, every second one grown."""

    task = "instance"

    def __init__(self, coco_json):
        self.classes = ClassList.from_names(["background", "nucleus"])
        self.coco = COCO(str(coco_json))
        from maskwork.core.store.images import read_image
        self.by_pixels = {}
        for img in self.coco.dataset["images"]:
            rgb = read_image(coco_json.parent / "images" / img["file_name"])
            self.by_pixels[rgb.tobytes()] = img["id"]

    def predict(self, rgb, score_threshold=0.5):
        import cv2
        img_id = self.by_pixels[rgb.tobytes()]
        anns = self.coco.loadAnns(self.coco.getAnnIds(imgIds=img_id))
        masks, scores = [], []
        for i, a in enumerate(anns):
            if i % 3 == 2:
                continue
            m = self.coco.annToMask(a)
            if i % 2:
                m = cv2.dilate(m, np.ones((5, 5), np.uint8))
            masks.append(Mask.from_full(m.astype(bool)))
            scores.append(1.0 - i / 100)
        h, w = rgb.shape[:2]
        boxes = np.array([m.bbox for m in masks], np.float32).reshape(-1, 4)
        return InstanceResult(masks, boxes, np.ones(len(masks), int), np.array(scores, np.float32), self.classes,
                              h, w, 0.0, score_threshold)

    def expected(self) -> list[float]:
        dets = []
        for img_id in self.coco.getImgIds():
            anns = self.coco.loadAnns(self.coco.getAnnIds(imgIds=img_id))
            rgb_key = [k for k, v in self.by_pixels.items() if v == img_id][0]
            res = self.predict(np.frombuffer(rgb_key, np.uint8).reshape(96, 96, 3))
            for m, s in zip(res.masks, res.scores):
                rle = mask_utils.encode(np.asfortranarray(m.to_full().astype(np.uint8)))
                dets.append({"image_id": img_id, "category_id": 1, "segmentation": rle, "score": float(s)})
            assert len(anns) > len(res.masks)
        with contextlib.redirect_stdout(io.StringIO()):
            e = COCOeval(self.coco, self.coco.loadRes(dets), "segm")
            e.params.maxDets = [1, 10, 300]
            e.evaluate(), e.accumulate(), e.summarize()
        # summarize() scores stats[0] at maxDets=100 only; at maxDets[2] AP = mean of the precision table
        prec = e.eval["precision"][..., 0, 2]  # area "all", 300 detections
        ap = float(prec[prec > -1].mean())
        return [ap, e.stats[1], e.stats[2]]


def test_instance_ap_matches_direct_cocoeval(nuclei_small, monkeypatch):
    fake = _FakeInstance(nuclei_small)
    monkeypatch.setattr(ev, "make_predictor", lambda model, device=None, int8=False: fake)
    table = ev.evaluate("fake", str(nuclei_small), per_image=True)
    stats = fake.expected()
    assert table.summary["ap"] == pytest.approx(stats[0])
    assert table.summary["ap50"] == pytest.approx(stats[1])
    assert table.summary["ap75"] == pytest.approx(stats[2])
    assert 0 < table.summary["ap"] < table.summary["ap50"] < 1
    assert len(table.per_image) == len(json.loads(nuclei_small.read_text())["images"])


def _checkpoint(path, arch, task, classes, input_spec):
    torch.manual_seed(0)
    model = ARCHITECTURES[arch].build(len(classes))
    save_checkpoint(path, arch=arch, task=task, classes=classes, state_dict=model.state_dict(),
                    training={"note": "untrained, for tests"}, input_spec=input_spec)
    return path


def test_checkpoint_evaluated_through_predictor_matches_own_runner(aerial_small, tmp_path, monkeypatch):
    monkeypatch.setenv("MASKWORK_THREADS", "1")
    data = from_png_folder(aerial_small)
    ckpt = _checkpoint(tmp_path / "aer.pt", "unet_tiny", "semantic", data.classes, {"tile": 512, "scale": 1.0})
    table = ev.evaluate(str(ckpt), str(aerial_small))
    runner = CheckpointRunner(ckpt)  # independent inference path (core.training.semantic)
    conf = sum(ev.sem.confusion(it.label_map(), runner.predict(it.image()).label_map, 6) for it in data.items)
    assert table.summary["miou"] == pytest.approx(ev.sem.iou_from_confusion(conf, 0)["miou"], abs=1e-3)


def test_instance_checkpoint_evaluates(nuclei_small, tmp_path, monkeypatch):
    monkeypatch.setenv("MASKWORK_THREADS", "1")
    classes = ClassList.from_names(["background", "nucleus"])
    ckpt = _checkpoint(tmp_path / "ins.pt", "maskrcnn_resnet18_lite", "instance", classes,
                       {"min_size": 96, "max_size": 256, "detections_per_img": 50})
    table = ev.evaluate(str(ckpt), str(nuclei_small), max_images=1)
    assert table.task == "instance" and table.summary["images"] == 1
    assert 0.0 <= table.summary["ap50"] <= 1.0


def test_cli_train_then_evaluate(aerial_small, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MASKWORK_THREADS", "1")
    out = tmp_path / "cli.pt"
    rc = run(["train", "--arch", "unet_tiny", "--data", str(aerial_small), "--val-names", "tile7_", "--epochs", "1",
              "--steps-per-epoch", "1", "--batch-size", "1", "--crop", "64", "--out", str(out), "--device", "cpu"])
    assert rc == 0 and out.is_file() and out.with_suffix(".last.pt").is_file()
    rc = run(["evaluate", "--model", str(out), "--data", str(aerial_small), "--per-image"])
    text = capsys.readouterr().out
    assert rc == 0 and "miou" in text and "tile7_001.png" in text and "tile1_001.png" in text
    rc = run(["evaluate", "--model", str(out), "--data", str(aerial_small), "--per-image", "--only", "tile7_"])
    text = capsys.readouterr().out
    assert rc == 0 and "(1 images)" in text and "tile1_001.png" not in text


def test_cli_errors_are_one_clear_line(tmp_path, capsys):
    rc = run(["evaluate", "--model", str(tmp_path / "nothing.pt"), "--data", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "nothing.pt" in err
    rc = run(["train", "--arch", "unet_small", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "x.pt")])
    err = capsys.readouterr().err
    assert rc == 2 and "not found" in err


def test_int8_bundled_model_is_scored_against_the_truth(nuclei_val, tmp_path, monkeypatch):
    """`evaluate --int8` scores the quantized bundled model on real images; it stays near float."""
    from pathlib import Path

    if not (Path(__file__).resolve().parents[2] / "resources" / "models" / "nuclei-semantic.pt").is_file():
        pytest.skip("bundled nuclei-semantic model not present")
    monkeypatch.setenv("MASKWORK_CACHE_DIR", str(tmp_path / "int8"))
    float_table = ev.evaluate("nuclei-semantic", nuclei_val, max_images=4)
    int8_table = ev.evaluate("nuclei-semantic", nuclei_val, max_images=4, int8=True)
    assert int8_table.model == "nuclei-semantic (int8)"
    assert any((tmp_path / "int8").rglob("*")), "the int8 model was built and cached"
    assert abs(int8_table.summary["miou"] - float_table.summary["miou"]) <= 0.015


def test_int8_calibrates_on_a_held_out_folder(nuclei_val, datasets, tmp_path, monkeypatch, capsys):
    """`evaluate --int8 --calibration DIR` builds the int8 model from images that are not scored (train
    images here), a different int8 model than the default one calibrated on scored images."""
    import shutil
    from pathlib import Path

    if not (Path(__file__).resolve().parents[2] / "resources" / "models" / "nuclei-semantic.pt").is_file():
        pytest.skip("bundled nuclei-semantic model not present")
    monkeypatch.setenv("MASKWORK_CACHE_DIR", str(tmp_path / "int8"))
    train = json.loads((datasets / "nuclei" / "train.json").read_text())
    held_out = tmp_path / "calibration"
    held_out.mkdir()
    for im in train["images"][:6]:
        shutil.copy(datasets / "nuclei" / "images" / im["file_name"], held_out)
    scored = {im["file_name"] for im in json.loads(nuclei_val.read_text())["images"]}
    assert not scored & {p.name for p in held_out.iterdir()}

    rc = run(["evaluate", "--model", "nuclei-semantic", "--data", str(nuclei_val), "--max-images", "4",
              "--int8", "--calibration", str(held_out), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["model"] == "nuclei-semantic (int8)"
    float_table = ev.evaluate("nuclei-semantic", nuclei_val, max_images=4)
    assert abs(out["summary"]["miou"] - float_table.summary["miou"]) <= 0.015
    built = {p for p in (tmp_path / "int8").rglob("*") if p.is_file()}
    ev.evaluate("nuclei-semantic", nuclei_val, max_images=4, int8=True)  # default: calibrated on scored images
    assert {p for p in (tmp_path / "int8").rglob("*") if p.is_file()} - built, "another calibration, another model"

    assert run(["evaluate", "--model", "nuclei-semantic", "--data", str(nuclei_val),
                "--calibration", str(held_out)]) == 2
    assert "add --int8" in capsys.readouterr().err
    assert run(["evaluate", "--model", "nuclei-semantic", "--data", str(nuclei_val), "--int8",
                "--calibration", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
