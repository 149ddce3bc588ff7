"""The bundled Mask R-CNN (nuclei-instance) through ONNX: `export-model`, `models add`, then run by Maskwork's
ONNX runner on real nuclei images, against the torch model it came from.

Slow (about 20 s of CPU: tracing Mask R-CNN for the export is most of it); test_export.py checks a
random-weight Mask R-CNN export in the quick suite."""
from __future__ import annotations

import json

import numpy as np
import pytest

from maskwork.core.cli import run


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from maskwork.core.resources import bundled_models_dir

    if not (bundled_models_dir() / "nuclei-instance.pt").is_file():
        pytest.skip("the bundled nuclei-instance model is not here")
    out = tmp_path_factory.mktemp("export") / "nuclei-instance.onnx"
    assert run(["export-model", "nuclei-instance", "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_exported_mask_rcnn_registers_and_matches_torch(exported, nuclei_val, real_models, tmp_path, monkeypatch):
    """Registered with no questions (the metadata says instance, nucleus, rcnn policy); on two nuclei val
    images the ONNX runner gives the torch model's detections: same count above the 0.05 floor, scores
    within 1e-4, boxes within 1e-3 px, masks pixel for pixel."""
    from maskwork.core.models.predict import Predictor
    from maskwork.core.store.images import read_image

    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    assert run(["models", "add", str(exported), "--name", "nuclei-onnx"]) == 0
    entry = json.loads((tmp_path / "config" / "models.json").read_text())["models"][0]
    assert entry["task"] == "instance" and entry["layout"]["kind"] == "maskwork-instance"
    assert [c["name"] for c in entry["classes"]][1:] == ["nucleus"] and entry["input"]["mode"] == "rcnn"

    torch_model, onnx_model = real_models("nuclei-instance"), Predictor("nuclei-onnx", device="cpu")
    doc = json.loads(nuclei_val.read_text())
    ious = []
    for img in doc["images"][:2]:
        rgb = read_image(nuclei_val.parent / "images" / img["file_name"])
        a, b = torch_model.predict(rgb), onnx_model.predict(rgb)
        assert len(a) == len(b) > 20
        assert np.abs(a.scores - b.scores).max() <= 1e-4
        assert np.abs(a.boxes - b.boxes).max() <= 1e-3
        assert (a.class_ids == b.class_ids).all()
        ious += [ma.iou(mb) for ma, mb in zip(a.masks, b.masks)]
    assert min(ious) >= 0.999, sorted(ious)[:3]
