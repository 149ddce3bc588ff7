"""`maskwork models`, `register-model` and `predict` end to end on real images (test-filled weights)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from maskwork.core.cli import run
from maskwork.core.formats.png import read_classes_json, read_label_png
from maskwork.core.models.catalog.registry import MODELS, get_model
from maskwork.core.models.catalog.weights import build_model
from maskwork.core.models.torch_models.checkpoint import save_checkpoint
from tests.unit.model_fixtures import crop, real_image


@pytest.fixture()
def image_dir(datasets, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i, kind in enumerate(["nuclei", "nuclei", "aerial"]):
        Image.fromarray(crop(real_image(datasets, kind), 101 + 10 * i, 143 + 6 * i)).save(folder / f"im{i}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_models_lists_every_model_with_its_state(model_env, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MASKWORK_MODELS_DIR", str(tmp_path / "none"))
    assert run(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "TASK", "ARCH", "CLASSES", "STATE"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == set(MODELS)
    assert rows["fcn_resnet50"].endswith("cached") and "aeroplane" in rows["fcn_resnet50"]
    assert rows["aerial-landcover"].endswith("missing") and "building" in rows["aerial-landcover"]


def test_predict_instances_writes_coco_json(model_env, image_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code = run(["predict", "--model", "nuclei-instance", "--score-threshold", "0.3", str(image_dir),
                "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    data = json.loads((out / "predictions.json").read_text())
    assert [im["file_name"] for im in data["images"]] == ["im0.png", "im1.png", "im2.png"]
    assert [c["name"] for c in data["categories"]] == ["nucleus"]
    assert data["annotations"], "the test weights make the detector fire"
    for ann in data["annotations"]:
        assert ann["score"] >= 0.3 and ann["category_id"] == 1 and isinstance(ann["segmentation"]["counts"], str)
    coco = COCO(str(out / "predictions.json"))  # pycocotools reads it back
    first = data["annotations"][0]
    img = coco.imgs[first["image_id"]]
    assert coco.annToMask(first).shape == (img["height"], img["width"])
    assert coco.annToMask(first).sum() == first["area"]


def test_predict_semantic_writes_palette_pngs(model_env, image_dir, tmp_path):
    out = tmp_path / "labels"
    assert run(["predict", "--model", "aerial-landcover", str(image_dir / "im2.png"), str(image_dir / "im0.png"),
                "--out", str(out)]) == 0
    classes = get_model("aerial-landcover").classes
    for name, size in (("im2", (155, 121)), ("im0", (143, 101))):  # (w, h)
        png = Image.open(out / f"{name}.png")
        assert png.mode == "P" and png.size == size
        assert png.getpalette()[3:6] == list(classes.get(1).rgb)
        labels = read_label_png(out / f"{name}.png")
        assert labels.shape == size[::-1] and set(np.unique(labels)) <= set(classes.ids())
    assert read_classes_json(out / "classes.json") == classes


def test_predict_errors_are_one_line(model_env, image_dir, tmp_path, capsys):
    assert run(["predict", "--model", "nuclei_instance", str(image_dir), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'nuclei_instance'" in err and "nuclei-instance" in err and len(err.splitlines()) == 1
    assert run(["predict", "--model", "nuclei-semantic", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_predict_skips_broken_images_and_says_so(model_env, image_dir, tmp_path, capsys):
    (image_dir / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    out = tmp_path / "labels"
    assert run(["predict", "--model", "nuclei-semantic", str(image_dir), "--out", str(out)]) == 1
    assert "zz_broken.png" in capsys.readouterr().err
    assert sorted(p.name for p in out.glob("*.png")) == ["im0.png", "im1.png", "im2.png"]


def test_register_model_then_predict_with_it(model_env, image_dir, tmp_path, capsys):
    spec = MODELS["nuclei-semantic"]
    save_checkpoint(tmp_path / "my-cells.pt", arch=spec.arch, task="semantic", classes=spec.classes,
                    state_dict=build_model(spec).state_dict(), input_spec={"tile": 128})
    assert run(["register-model", str(tmp_path / "my-cells.pt")]) == 0
    assert "registered my-cells" in capsys.readouterr().out
    assert run(["models"]) == 0
    assert any(line.startswith("my-cells") for line in capsys.readouterr().out.splitlines())
    assert run(["predict", "--model", "my-cells", str(image_dir / "im1.png"), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "im1.png").is_file()
