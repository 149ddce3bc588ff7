"""`compare`: two models over a dataset, on real data and real bundled models."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from maskwork.core.comparison.compare import compare_models
from maskwork.core.comparison.report import render_html
from maskwork.core.comparison.scores import as_dict
from maskwork.core.training.datasets import read_label_png
from maskwork.core.training.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[2]
AERIAL = ["tile1_001", "tile2_004", "tile5_001", "tile3_007"]
WATER = 5  # aerial-landcover's class id of "water"


@pytest.fixture
def aerial_subset(tmp_path, aerial_dir) -> Path:
    """Four aerial tiles with their masks (tile5_001 is mostly water)."""
    folder = tmp_path / "aerial"
    for sub, suffix in (("images", ".jpg"), ("masks", ".png")):
        (folder / sub).mkdir(parents=True)
        for name in AERIAL:
            shutil.copy(aerial_dir / sub / f"{name}{suffix}", folder / sub / f"{name}{suffix}")
    shutil.copy(aerial_dir / "classes.json", folder / "classes.json")
    return folder


@pytest.fixture
def without_water(tmp_path) -> Path:
    """aerial-landcover with its water class removed: the head never picks it."""
    import torch

    from maskwork.core.domain.annotation import ClassList
    from maskwork.core.models.torch_models.checkpoint import save_checkpoint

    ckpt = torch.load(ROOT / "resources/models/aerial-landcover.pt", weights_only=True)
    state = dict(ckpt["state_dict"])
    bias = state["head.bias"].clone()
    bias[WATER] = -1e4
    state["head.bias"] = bias
    out = tmp_path / "no-water.pt"
    save_checkpoint(out, arch=ckpt["arch"], task=ckpt["task"], classes=ClassList.from_list(ckpt["classes"]),
                    state_dict=state, input_spec=ckpt["input"])
    return out


def test_a_class_removed_from_b_ranks_the_image_of_that_class_first(aerial_subset, without_water, tmp_path):
    result, evs, preds = compare_models("aerial-landcover", str(without_water), aerial_subset, cache_dir=None)
    water = {n: float(np.mean(read_label_png(aerial_subset / "masks" / f"{n}.png") == WATER)) for n in AERIAL}
    wettest = max(water, key=water.get) + ".jpg"
    assert result.sorted_rows("disagreement")[0].image == wettest
    assert wettest in result.losses()
    per_class = {p["class"]: p for p in result.per_class}
    assert per_class["water"]["b"] is None or per_class["water"]["b"] == 0.0
    assert per_class["water"]["a"] > 0.3
    assert result.overall["diff"] < 0
    # B never predicts water: where A does, they disagree
    k = [it.name for it in evs[0].items].index(wettest)
    assert not (preds[1][k]["label_map"] == WATER).any() and (preds[0][k]["label_map"] == WATER).any()
    # the report shows that image first, with its four pictures inline and nothing fetched from outside
    page = render_html(result, evs, preds)
    assert page.index(wettest) < min(page.index(n + ".jpg") for n in AERIAL if n + ".jpg" != wettest)
    assert page.count("data:image/png;base64,") >= 4 * len(AERIAL)
    assert "http://" not in page and "https://" not in page


def test_per_image_scores_are_those_of_evaluate(aerial_subset):
    result, _, _ = compare_models("aerial-landcover", "aerial-landcover", aerial_subset, cache_dir=None)
    table = evaluate("aerial-landcover", aerial_subset, per_image=True)
    by_name = {r["image"]: r["miou"] for r in table.per_image}
    assert {r.image: r.a for r in result.rows} == pytest.approx(by_name, abs=1e-12)
    assert result.overall["a"] == pytest.approx(table.summary["miou"], abs=1e-12)
    assert all(r.disagreement == 0.0 for r in result.rows)  # the same model agrees with itself everywhere
    assert result.overall["verdict"].startswith("practically the same")


@pytest.mark.slow
def test_float_vs_int8_per_image_ap_equals_evaluate_of_each(nuclei_val):
    result, _, _ = compare_models("nuclei-instance", "nuclei-instance", nuclei_val, int8_b=True, max_images=3,
                                  cache_dir=None)
    float_table = evaluate("nuclei-instance", nuclei_val, per_image=True, max_images=3)
    int8_table = evaluate("nuclei-instance", nuclei_val, per_image=True, max_images=3, int8=True)
    assert {r.image: r.a for r in result.rows} == {r["image"]: r["ap"] for r in float_table.per_image}
    assert {r.image: r.b for r in result.rows} == {r["image"]: r["ap"] for r in int8_table.per_image}
    assert result.overall["a"] == float_table.summary["ap"] and result.overall["b"] == int8_table.summary["ap"]
    assert result.b_label.endswith("(int8)")


def test_a_second_comparison_takes_the_first_models_predictions_from_the_cache(aerial_subset, without_water,
                                                                              tmp_path):
    cache = tmp_path / "cache"
    first, _, preds1 = compare_models("aerial-landcover", str(without_water), aerial_subset, cache_dir=cache)
    assert first.cost["cache_hits"] == [0, 0]
    second, _, preds2 = compare_models("aerial-landcover", "aerial-landcover", aerial_subset, cache_dir=cache)
    assert second.cost["cache_hits"] == [len(AERIAL), len(AERIAL)]
    assert second.cost["predict_seconds"] == [0.0, 0.0]
    for a, b in zip(preds1[0], preds2[0]):
        assert np.array_equal(a["label_map"], b["label_map"])
    # an edited image is a miss, never a stale hit
    import cv2

    path = aerial_subset / "images" / "tile1_001.jpg"
    img = cv2.imread(str(path))
    cv2.imwrite(str(path), 255 - img)
    third, _, _ = compare_models("aerial-landcover", str(without_water), aerial_subset, cache_dir=cache)
    assert third.cost["cache_hits"] == [len(AERIAL) - 1, len(AERIAL) - 1]


def test_without_truth_the_ranking_is_the_list_of_images_to_correct_first(aerial_subset, without_water):
    images_only = aerial_subset / "images"
    result, _, _ = compare_models("aerial-landcover", str(without_water), images_only, cache_dir=None)
    assert all(not r.truth and r.a is None for r in result.rows)
    assert any("correct first" in n for n in result.notes)
    assert result.sorted_rows()[0].image == "tile5_001.jpg"
    doc = as_dict(result)
    json.dumps(doc)  # JSON-ready
    assert doc["images"][0]["image"] == "tile5_001.jpg"


def test_the_command_writes_json_and_a_report_and_refuses_to_overwrite_an_input(aerial_subset, without_water,
                                                                               tmp_path):
    report = tmp_path / "cmp.html"
    cmd = [sys.executable, str(ROOT / "main.py"), "compare", "--a", "aerial-landcover", "--b", str(without_water),
           "--data", str(aerial_subset), "--json", "--report", str(report), "--no-cache"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["images"][0]["image"] == "tile5_001.jpg" and report.read_text().startswith("<!doctype html>")
    onto_image = aerial_subset / "images" / "tile1_001.jpg"
    before = onto_image.read_bytes()
    cmd[cmd.index(str(report))] = str(onto_image)
    refused = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert onto_image.read_bytes() == before


def test_two_models_of_different_tasks_are_refused_in_one_sentence(aerial_subset):
    from maskwork.core.domain.errors import InputError

    with pytest.raises(InputError, match=r"model A \(aerial-landcover\) is a semantic model, model B "
                                         r"\(nuclei-instance\) an instance model"):
        compare_models("aerial-landcover", "nuclei-instance", aerial_subset, cache_dir=None)


def test_an_onnx_file_given_as_a_model_says_how_to_register_it(aerial_subset, tmp_path):
    from maskwork.core.domain.errors import ModelError

    onnx = tmp_path / "mine.onnx"
    onnx.write_bytes(b"not registered")
    with pytest.raises(ModelError, match=r"mine.onnx is a file, not a model name: register it first with "
                                         r"`maskwork register-model .*mine.onnx --name NAME`"):
        compare_models("aerial-landcover", str(onnx), aerial_subset, cache_dir=None)
    from maskwork.core.training.runner import make_predictor  # evaluate's and train's way to a model

    with pytest.raises(ModelError, match="is a file, not a model name: register it first"):
        make_predictor(str(onnx))


YOLO = ROOT.parent / "shared" / "models" / "yolo11n-seg-quantized.onnx"


@pytest.mark.skipif(not YOLO.is_file(), reason="the seed's YOLO file is test data outside the repository")
def test_a_yolo_onnx_model_against_a_model_of_other_classes(tmp_path, monkeypatch, coco_sample_val):
    """The seed's int8 YOLO on COCO people and things, against nuclei-instance which knows none of them: B scores
    0 everywhere (a model without one detection still gets its rows), and the notes say why."""
    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    from maskwork.core.models.onnx_models.register import register_onnx

    register_onnx(YOLO, name="yolo-seed")
    result, _, _ = compare_models("yolo-seed", "nuclei-instance", coco_sample_val, max_images=2, cache_dir=None)
    assert [r.b for r in result.rows] == [0.0, 0.0] and all(r.a > 0 for r in result.rows)
    assert result.overall["verdict"].startswith("A (yolo-seed (int8)) is better")
    assert any("no model class matches" in n for n in result.notes)


def test_an_unreadable_image_is_left_out_and_named(aerial_subset, without_water):
    """One truncated file among the images: reported in the notes, the others compared."""
    bad = aerial_subset / "images" / "tile1_001.jpg"
    bad.write_bytes(bad.read_bytes()[:3000])
    result, evs, preds = compare_models("aerial-landcover", str(without_water), aerial_subset, cache_dir=None)
    assert sorted(r.image for r in result.rows) == sorted(f"{n}.jpg" for n in AERIAL if n != "tile1_001")
    assert len(evs[0].items) == len(preds[0]) == len(preds[1]) == len(AERIAL) - 1
    assert any("1 image left out (cannot be read)" in n and "tile1_001.jpg" in n for n in result.notes)
