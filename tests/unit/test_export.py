"""ONNX export: runs in onnxruntime and matches the torch model on real images; CLI commands."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from maskwork.core.cli import run
from maskwork.core.domain.errors import InputError
from maskwork.core.models.catalog.registry import get_model
from maskwork.core.models.predict import Predictor
from maskwork.core.models.torch_models import export as ex
from maskwork.core.models.torch_models.export import export_onnx
from tests.unit.quant_fixtures import nuclei_crops, nuclei_semantic_model


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def semantic(nuclei_val):
    return nuclei_semantic_model(nuclei_val)


@pytest.fixture(scope="module")
def crops(nuclei_val):
    return nuclei_crops(nuclei_val, 6, skip=8)


def _ort_logits(path, spec, rgb):
    x = Predictor(spec, model=torch.nn.Identity()).prepare(rgb).tensor[None]
    return ex._session(path).run(None, {"image": x.numpy()})[0], x


def test_float_semantic_onnx_matches_torch_on_another_size(semantic, crops, tmp_path):
    spec, model = semantic
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = export_onnx(spec, tmp_path / "unet.onnx", model=model, images=[r for r, _ in crops[:2]])
    assert report.checks["passed"]
    meta = json.loads(report.classes_path.read_text())
    assert meta["classes"] == spec.classes.to_list() and meta["task"] == "semantic"
    assert meta["input"]["mean"] == list(spec.input.mean)
    rgb = crops[3][0][:80, :72]  # a size never exported: the height/width axes are dynamic
    got, x = _ort_logits(report.onnx_path, spec, rgb)
    with torch.no_grad():
        ref = model(x)["out"].numpy()
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= ex.FLOAT_LOGITS_ATOL
    assert (got.argmax(1) == ref.argmax(1)).mean() >= ex.FLOAT_LABEL_AGREEMENT


def test_int8_semantic_onnx_agrees_with_float_and_is_smaller(semantic, crops, tmp_path):
    spec, model = semantic
    f = export_onnx(spec, tmp_path / "f.onnx", model=model, images=[r for r, _ in crops[:2]])
    q = export_onnx(spec, tmp_path / "q.onnx", int8=True, model=model, images=[r for r, _ in crops[:4]])
    assert q.onnx_path.stat().st_size < 0.5 * f.onnx_path.stat().st_size
    assert sorted(p.name for p in tmp_path.glob("*.onnx")) == ["f.onnx", "q.onnx"]  # no partial files left
    agree = []
    for rgb, _ in crops[4:]:  # images not used for calibration
        got, x = _ort_logits(q.onnx_path, spec, rgb)
        with torch.no_grad():
            ref = model(x)["out"].numpy()
        agree.append((got.argmax(1) == ref.argmax(1)).mean())
    assert min(agree) >= ex.INT8_LABEL_AGREEMENT


def test_maskrcnn_onnx_runs_in_onnxruntime_and_matches(nuclei_val, tmp_path):
    """Random weights (class bias raised so it detects); boxes and scores must match torch."""
    from maskwork.core.models.catalog.weights import build_model

    spec = get_model("nuclei-instance").with_input(min_size=160, max_size=200)
    torch.manual_seed(0)
    model = build_model(spec).eval()
    with torch.no_grad():
        model.roi_heads.box_predictor.cls_score.bias[1] = 2.0
    imgs = [r for r, _ in nuclei_crops(nuclei_val, 2, size=128)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = export_onnx(spec, tmp_path / "det.onnx", model=model, images=imgs)
    c = report.checks
    assert c["passed"] and c["torch_detections"] > 0 and c["onnx_detections"] == c["torch_detections"]
    assert c["max_abs_box_diff"] <= ex.FLOAT_BOX_ATOL
    outs = ex._session(report.onnx_path).run(None, {"image": torch.rand(3, 100, 140).numpy()})
    assert [o.shape[1:] for o in outs[:1]] == [(4,)] and outs[3].shape[1:] == (1, 100, 140)


def test_bad_output_name_is_refused(semantic, tmp_path):
    spec, model = semantic
    with pytest.raises(InputError, match=r"\.onnx"):
        export_onnx(spec, tmp_path / "model.bin", model=model)


def _calibration_dir(nuclei_val, tmp_path):
    from PIL import Image

    folder = tmp_path / "calib"
    folder.mkdir()
    for n, (rgb, _) in enumerate(nuclei_crops(nuclei_val, 2, skip=8)):
        Image.fromarray(rgb).save(folder / f"c{n}.png")
    return folder


def test_cli_quantize_prints_latency_size_agreement_and_caches(model_env, nuclei_val, tmp_path, capsys):
    folder = _calibration_dir(nuclei_val, tmp_path)
    args = ["quantize", "--model", "nuclei-semantic", "--calibration", str(folder), "--images", "2",
            "--cache-dir", str(tmp_path / "cache"), "--repeats", "1"]
    assert run(args) == 0
    out = capsys.readouterr().out
    assert "calibrated on 2 images" in out and "speed-up" in out and "agreement" in out and "MB" in out
    assert run(args) == 0
    assert "loaded from cache" in capsys.readouterr().out


def test_cli_export_model_and_clear_errors(model_env, nuclei_val, tmp_path, capsys):
    folder = _calibration_dir(nuclei_val, tmp_path)
    out = tmp_path / "exp" / "nuclei.onnx"
    assert run(["export-model", "nuclei-semantic", "--format", "onnx", "--out", str(out),
                "--calibration", str(folder)]) == 0
    assert out.is_file() and (out.parent / "nuclei.classes.json").is_file()
    assert run(["export-model", "nuclei-semantic", "--out", str(tmp_path / "x.onnx"),
                "--calibration", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "nope" in err
