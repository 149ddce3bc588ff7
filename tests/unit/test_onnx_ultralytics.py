"""Maskwork's YOLO decoding against Ultralytics' own predictions on real coco_sample images.

tests/fixtures/ultralytics/ holds tiny YOLO11 exports made by Ultralytics' exporter (random weights: a
dynamic-size and a fixed 256x320 segmentation file, a detection file) and, per segmentation file (and the
seed's model), what `ultralytics` 8.4 predicted on three coco_sample images with retina_masks=True (masks
at the image's resolution). tools/make_ultralytics_fixtures.py regenerates them; ultralytics itself is
not needed here.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from maskwork.core.errors import ModelError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ultralytics"
SEED = Path(__file__).resolve().parents[3] / "shared" / "models" / "yolo11n-seg-quantized.onnx"
MODELS = {"tiny-seg-dynamic": FIXTURES / "tiny-seg-dynamic.onnx",
          "tiny-seg-256x320": FIXTURES / "tiny-seg-256x320.onnx",
          "yolo11n-seg-quantized": SEED}


def _predictor(path: Path):
    from maskwork.core.models.onnx_models.entries import spec_of
    from maskwork.core.models.onnx_models.register import describe_file
    from maskwork.core.models.onnx_models.runner import OnnxPredictor

    rec, session = describe_file(path)
    return OnnxPredictor(spec_of(path.stem, str(path), rec.task, rec.classes, rec.policy, rec.layout, ""),
                         model=session), rec


def _agreement(name: str, datasets: Path):
    """Per object: (IoU of the masks, score difference, largest box corner difference); plus the layout."""
    from maskwork.core.images import read_image

    path = MODELS[name]
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    expected = json.loads((FIXTURES / f"{name}.json").read_text())
    predictor, rec = _predictor(path)
    ious, score_diffs, box_diffs = [], [], []
    for shot in expected["images"]:
        rgb = read_image(datasets / "coco_sample" / shot["file"])
        result = predictor.predict(rgb)
        keep = np.flatnonzero(result.scores > expected["conf"])  # Ultralytics keeps scores above conf
        theirs = shot["objects"]
        # same forward pass, same NMS: the same detections in the same (falling score) order
        assert [int(result.class_ids[i]) - 1 for i in keep] == [o["class"] for o in theirs], shot["file"]
        for i, obj in zip(keep, theirs):
            ours = result.masks[i].to_full()
            ref = mask_utils.decode(obj["mask"]).astype(bool)
            ious.append((ours & ref).sum() / max((ours | ref).sum(), 1))
            score_diffs.append(abs(float(result.scores[i]) - obj["score"]))
            x, y, w, h = result.boxes[i]
            box_diffs.append(float(np.abs(np.array([x, y, x + w, y + h]) - obj["box"]).max()))
    return np.array(ious), np.array(score_diffs), np.array(box_diffs), rec


@pytest.mark.parametrize("name", list(MODELS))
def test_yolo_decoding_matches_ultralytics(name, datasets):
    ious, score_diffs, box_diffs, rec = _agreement(name, datasets)
    assert len(ious) >= 20  # enough objects on the three images to mean something
    assert ious.min() >= 0.999, (ious.min(), np.sort(ious)[:5])
    assert score_diffs.max() <= 1e-4
    assert box_diffs.max() <= 0.01  # letterbox undone the same way (boxes rounded to 0.001 in the file)
    fixed = {"tiny-seg-dynamic": None, "tiny-seg-256x320": (256, 320)}.get(name, (320, 320))
    assert rec.layout.fixed_size == fixed


def test_dynamic_export_letterboxes_to_the_minimal_rectangle(datasets):
    """A dynamic-size export gets Ultralytics' minimal rectangle (long side to imgsz, short side padded to
    the stride), not a square: the 640x425 image goes in as 320x224."""
    from maskwork.core.images import read_image

    predictor, rec = _predictor(MODELS["tiny-seg-dynamic"])
    rgb = read_image(datasets / "coco_sample" / "val2017" / "000000184324.jpg")
    assert rgb.shape[:2] == (425, 640)
    assert predictor.prepare(rgb).tensor.shape == (1, 3, 224, 320)


def test_detection_export_refused_in_one_sentence(tmp_path, monkeypatch):
    """Ultralytics' detection export (boxes only) is refused at registration, nothing written."""
    from maskwork.core.models.onnx_models.register import register_onnx

    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    with pytest.raises(ModelError) as err:
        register_onnx(FIXTURES / "tiny-detect.onnx")
    text = str(err.value)
    assert "detection model" in text and "-seg" in text and text.count(". ") == 0
    assert not (tmp_path / "config" / "models.json").exists()
