"""The model panel's int8 toggle and the compare window on ONNX models: a float aerial export (its int8
twin calibrated on the project's images), a paired float + int8 model, int8 files that cannot switch."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from maskwork.core.models.predictor_cache import PREDICTORS
from maskwork.gui.panels.model_panel import ModelPanel
from maskwork.gui.state import AppState
from tests.gui.panels_support import open_image, open_project

WAIT_MS = 240_000
SEED_YOLO = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "yolo11n-seg-quantized.onnx"


@pytest.fixture(scope="module")
def exported(aerial_dir, tmp_path_factory):
    """The bundled aerial model exported by export-model, and its int8 twin saved under another name."""
    from maskwork.core.models.int8.onnx_quant import int8_onnx
    from maskwork.core.models.torch_models.export import export_onnx

    images = sorted((aerial_dir / "images").glob("*.jpg"))
    folder = tmp_path_factory.mktemp("files")
    float_file = folder / "aerial.onnx"
    export_onnx("aerial-landcover", float_file, images=[images[0]])
    twin = int8_onnx(float_file, images[:2], num_images=2, cache_dir=tmp_path_factory.mktemp("twin"))
    shutil.copy(twin.path, folder / "aerial-int8.onnx")
    return float_file, folder / "aerial-int8.onnx"


@pytest.fixture
def aerial_state(qtbot, tmp_path, aerial_dir, isolated_config):
    """An aerial project of 3 real images (from 3 tiles), the first one open."""
    from maskwork.core.models.catalog.classlists import aerial_classes
    from maskwork.core.store.project import Project

    images = sorted((aerial_dir / "images").glob("*.jpg"))
    folder = tmp_path / "proj"
    folder.mkdir()
    for p in images[:: len(images) // 3][:3]:
        shutil.copy(p, folder / p.name)
    project = Project.create(folder, aerial_classes(), "semantic")
    state = AppState()
    open_project(state, project)
    open_image(state, project.image_names()[0])
    return state


def _panel(qtbot, state, name):
    panel = ModelPanel(state)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.combo.findData(name) >= 0, timeout=WAIT_MS)
    panel.select_model(name)
    return panel


def _run(qtbot, panel, state):
    with qtbot.waitSignal(state.prediction_changed, timeout=WAIT_MS):
        panel.run_button.click()
    return state.annotation.prediction.label_map.copy()


def test_float_export_toggled_to_int8_agrees_with_float(qtbot, aerial_state, exported, isolated_config):
    from maskwork.core.models.int8.precision import is_int8
    from maskwork.core.models.onnx_models.register import register_onnx

    state = aerial_state
    register_onnx(exported[0], name="aerial-onnx")
    panel = _panel(qtbot, state, "aerial-onnx")
    assert panel.int8_box.isEnabled() and not panel.int8_box.isChecked()
    assert "ONNX Runtime static quantization" in panel.int8_box.toolTip()
    float_labels = _run(qtbot, panel, state)
    assert "float" in panel.latency_label.text() and len(np.unique(float_labels)) >= 2

    panel.int8_box.setChecked(True)  # builds the twin in a job, calibrated on the project's 3 images
    qtbot.waitUntil(lambda: not panel.jobs.busy, timeout=WAIT_MS)
    assert not panel.jobs.last_error
    twins = list((isolated_config / "cache" / "int8" / "onnx").glob("*.int8.onnx"))
    assert len(twins) == 1 and is_int8(twins[0])
    int8_labels = _run(qtbot, panel, state)
    assert PREDICTORS.get("aerial-onnx", True).spec.source.path == str(twins[0])
    assert (int8_labels == float_labels).mean() >= 0.95
    assert "(int8, aerial-onnx)" in panel.latency_label.text()
    assert state.annotation.prediction_info.int8 is True


def test_paired_model_toggle_switches_files(qtbot, aerial_state, exported, isolated_config):
    from maskwork.core.models.onnx_models.register import register_onnx

    state = aerial_state
    register_onnx(exported[0])
    register_onnx(exported[1])  # pairs with the float file under its name
    panel = _panel(qtbot, state, "aerial")
    assert panel.int8_box.isEnabled() and "its int8 file aerial-int8.onnx" in panel.int8_box.toolTip()
    float_labels = _run(qtbot, panel, state)
    assert PREDICTORS.get("aerial", False).spec.source.path == str(exported[0])
    panel.int8_box.setChecked(True)
    qtbot.waitUntil(lambda: not panel.jobs.busy, timeout=WAIT_MS)
    int8_labels = _run(qtbot, panel, state)
    assert PREDICTORS.get("aerial", True).spec.source.path == str(exported[1])
    assert (int8_labels == float_labels).mean() >= 0.95 and "int8" in panel.latency_label.text()
    assert not (isolated_config / "cache" / "int8").exists()  # the user's int8 file: nothing calibrated


def _int8_only(qtbot, state, path: Path, name: str):
    from maskwork.core.models.onnx_models.register import register_onnx

    register_onnx(path, name=name)
    state.int8 = False  # the user never asked for int8
    panel = _panel(qtbot, state, name)
    assert panel.int8_box.isChecked() and not panel.int8_box.isEnabled()
    assert f"{path.name} is already an int8 file" in panel.int8_box.toolTip()
    return panel


def test_int8_file_alone_shows_int8_and_cannot_switch(qtbot, aerial_state, exported):
    panel = _int8_only(qtbot, aerial_state, exported[1], "aerial-q")
    _run(qtbot, panel, aerial_state)
    assert "(int8, aerial-q)" in panel.latency_label.text()
    assert aerial_state.annotation.prediction_info.int8 is True


@pytest.mark.skipif(not SEED_YOLO.is_file(), reason=f"seed model not found at {SEED_YOLO}")
def test_seed_yolo_toggle_is_int8_and_disabled(qtbot, aerial_state):
    panel = _int8_only(qtbot, aerial_state, SEED_YOLO, "yolo-seed")
    panel.select_model("aerial-landcover")  # a model that can switch: the toggle is the user's again
    assert panel.int8_box.isEnabled() and not panel.int8_box.isChecked()


def test_compare_window_float_vs_int8_onnx(qtbot, aerial_state, exported):
    from maskwork.core.models.compare import semantic_agreement
    from maskwork.core.models.onnx_models.register import register_onnx
    from maskwork.gui.compare.window import CompareWindow

    register_onnx(exported[0], name="aerial-onnx")
    win = CompareWindow(aerial_state)
    qtbot.addWidget(win)
    win.set_model_names(["aerial-onnx"])  # default: A float, B int8
    win._listed = True  # only our model: no registry listing when the window shows
    win.show()
    win.compare_button.click()
    qtbot.waitUntil(lambda: win.outcome is not None or bool(win.jobs.last_error), timeout=WAIT_MS)
    assert not win.jobs.last_error
    out = win.outcome
    assert out.a.label == "aerial-onnx (float)" and out.b.label == "aerial-onnx (int8)"
    assert out.a.size_bytes == exported[0].stat().st_size and out.b.size_bytes < out.a.size_bytes / 2
    _per_class, mean = semantic_agreement(out.a.result, out.b.result)
    assert out.mean_iou == pytest.approx(mean) and mean >= 0.8
    assert f"{mean:.3f}" in win.mean_label.text()
