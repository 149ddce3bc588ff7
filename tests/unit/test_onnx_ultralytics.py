"""Maskwork's YOLO decoding against Ultralytics' own predictions on real coco_sample images.

tests/fixtures/ultralytics/ holds tiny exports made by Ultralytics' own exporter from its model YAMLs
(random weights): YOLO11-seg with a dynamic input and at a fixed 256x320, YOLO11 detection, YOLO26-seg
NMS-free (end2end); and, per segmentation file (and the seed's model), what `ultralytics` 8.4 predicted
on three coco_sample images with retina_masks=True (masks at the image's resolution) and the letterboxed
input size it ran. tools/make_ultralytics_fixtures.py regenerates them (README.md there); ultralytics
itself is not needed here.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from maskwork.core.domain.errors import ModelError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ultralytics"
SEED = Path(__file__).resolve().parents[3] / "shared" / "models" / "yolo11n-seg-quantized.onnx"
MODELS = {"tiny-seg-dynamic": FIXTURES / "tiny-seg-dynamic.onnx",
          "tiny-seg-256x320": FIXTURES / "tiny-seg-256x320.onnx",
          "tiny-seg26-end2end": FIXTURES / "tiny-seg26-end2end.onnx",
          "yolo11n-seg-quantized": SEED}


def _predictor(path: Path):
    from maskwork.core.models.onnx_models.entries import spec_of
    from maskwork.core.models.onnx_models.register import describe_file
    from maskwork.core.models.onnx_models.runner import OnnxPredictor

    rec, session = describe_file(path)
    return OnnxPredictor(spec_of(path.stem, str(path), rec.task, rec.classes, rec.policy, rec.layout, ""),
                         model=session), rec


def _ultralytics_geometry(shot: dict) -> tuple[float, float, int, int]:
    """How Ultralytics undoes the letterbox (ops.scale_boxes and process_mask_native, no ratio_pad): the gain
    recomputed from the input and image shapes, each side rounded as LetterBox rounds it.
    (x gain, y gain, left padding, top padding)."""
    (ih, iw), h, w = shot["input"], shot["height"], shot["width"]
    g = min(ih / h, iw / w)
    nh, nw = max(round(h * g), 1), max(round(w * g), 1)
    return nw / w, nh / h, round((iw - nw) / 2 - 0.1), round((ih - nh) / 2 - 0.1)


def _agreement(name: str, datasets: Path, own_geometry: bool = False) -> dict[str, list]:
    """Per object: mask IoU, score difference, largest box corner difference against Ultralytics.

    Maskwork decodes with the letterbox undone Ultralytics' way (the same as its own on every image but
    one), or with `own_geometry` its own way; then Ultralytics' boxes are mapped back to the input with
    their geometry and to the image with ours before they are compared."""
    from maskwork.core.store.images import read_image

    path = MODELS[name]
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    expected = json.loads((FIXTURES / f"{name}.json").read_text())
    predictor, _ = _predictor(path)
    stats = {"iou": [], "score": [], "box": [], "differs": []}
    for shot in expected["images"]:
        lb = predictor.prepare(read_image(datasets / "coco_sample" / shot["file"]))
        assert list(lb.tensor.shape[2:]) == shot["input"], shot["file"]  # the same letterbox went in
        gx, gy, px, py = _ultralytics_geometry(shot)
        theirs_lb = replace(lb, sx=gx, sy=gy, left=px, top=py)
        stats["differs"].append((lb.sx, lb.sy, lb.left, lb.top) != (gx, gy, px, py))
        used = lb if own_geometry else theirs_lb
        result = predictor.run(used)
        keep = np.flatnonzero(result.scores > expected["conf"])  # Ultralytics keeps scores above conf
        if not own_geometry:  # same forward pass, same NMS, same masks: the same list in the same order
            assert [int(result.class_ids[i]) - 1 for i in keep] == [o["class"] for o in shot["objects"]]
        xyxy = result.boxes.copy()
        xyxy[:, 2:] += xyxy[:, :2]
        paired = []
        for n, obj in enumerate(shot["objects"]):
            at_input = np.array(obj["box"]) * [gx, gy, gx, gy] + [px, py, px, py]
            theirs = np.clip((at_input - [used.left, used.top] * 2) / [used.sx, used.sy, used.sx, used.sy], 0,
                             [lb.width, lb.height] * 2)
            # own geometry: a mask empty on one side only drops an object there, so pair by class, score, box
            i = keep[n] if not own_geometry else min(
                keep, key=lambda k: (int(result.class_ids[k]) - 1 != obj["class"],
                                     abs(float(result.scores[k]) - obj["score"]) > 1e-4,
                                     np.abs(xyxy[k] - theirs).max()))
            paired.append(i)
            ours = result.masks[i].to_full()
            ref = mask_utils.decode(obj["mask"]).astype(bool)
            stats["iou"].append((ours & ref).sum() / max((ours | ref).sum(), 1))
            stats["score"].append(abs(float(result.scores[i]) - obj["score"]))
            stats["box"].append(float(np.abs(xyxy[i] - theirs).max()))
            assert int(result.class_ids[i]) - 1 == obj["class"]
        assert len(set(paired)) == len(paired) and len(keep) - len(paired) <= 2
    return stats


@pytest.mark.parametrize("name", list(MODELS))
def test_yolo_decoding_matches_ultralytics(name, datasets):
    """Same letterbox in; with the letterbox undone as Ultralytics undoes it, the same classes and scores,
    the same boxes and masks pixel for pixel."""
    stats = _agreement(name, datasets)
    assert len(stats["iou"]) >= 20  # enough objects on the three images to mean something
    assert min(stats["iou"]) >= 0.999, sorted(stats["iou"])[:5]
    assert max(stats["score"]) <= 1e-4
    assert max(stats["box"]) <= 0.01  # boxes are rounded to 0.001 in the fixture
    assert stats["differs"] == [name == "tiny-seg-dynamic" and f.endswith("030213.jpg")
                                for f in _files(name)]


def test_dynamic_export_where_ultralytics_recomputes_the_gain(datasets):
    """The dynamic file on the 640x449 image goes in as 320x224 (gain 0.5, the short side rounded down);
    Ultralytics undoes it with gain 224/449 (x stretched by 640/319: up to 2 px at the right edge) and
    crops a phantom 1-pixel padding off the masks. Maskwork undoes the letterbox it applied: the same
    detections, boxes that are Ultralytics' mapped back through its gain, masks that differ near edges
    (random weights: noisy masks, so the IoU is low; docs/MODELS.md gives the numbers)."""
    stats = _agreement("tiny-seg-dynamic", datasets, own_geometry=True)
    assert len(stats["iou"]) >= 20
    assert max(stats["score"]) <= 1e-4
    assert max(stats["box"]) <= 0.01
    assert np.median(stats["iou"]) >= 0.8


def _files(name: str) -> list[str]:
    return [s["file"] for s in json.loads((FIXTURES / f"{name}.json").read_text())["images"]]


@pytest.mark.parametrize("name, fixed, end2end", [("tiny-seg-dynamic", None, False),
                                                   ("tiny-seg-256x320", (256, 320), False),
                                                   ("tiny-seg26-end2end", (320, 320), True)])
def test_ultralytics_exports_register_with_their_layout(name, fixed, end2end, tmp_path, monkeypatch):
    """`models add` takes each export with no questions: a dynamic input (letterboxed to the minimal
    rectangle at predict time), a fixed non-square one, an NMS-free one; 80 classes from the metadata."""
    from maskwork.core.cli import run

    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    assert run(["models", "add", str(MODELS[name])]) == 0
    entry = json.loads((tmp_path / "config" / "models.json").read_text())["models"][0]
    layout = entry["layout"]
    assert (layout["kind"], layout["fixed_size"], layout["end2end"]) == ("yolo-seg", list(fixed) if fixed else None,
                                                                         end2end)
    assert entry["task"] == "instance" and len(entry["classes"]) == 81


def test_detection_export_refused_in_one_sentence(tmp_path, monkeypatch):
    """Ultralytics' detection export (boxes only) is refused at registration, nothing written."""
    from maskwork.core.models.onnx_models.register import register_onnx

    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    with pytest.raises(ModelError) as err:
        register_onnx(FIXTURES / "tiny-detect.onnx")
    text = str(err.value)
    assert "detection model" in text and "-seg" in text and text.count(". ") == 0
    assert not (tmp_path / "config" / "models.json").exists()
