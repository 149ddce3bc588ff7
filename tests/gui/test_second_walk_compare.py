"""Issue 18, section 3: the compare window with an int8-only model (the seed's YOLO file) is no dead end.
B gets another model that segments the same classes (to fetch, when it is not here); with none, the window
says why and what the user can do instead of asking to switch int8 on boxes that are disabled."""
from __future__ import annotations

from pathlib import Path

import pytest

from maskwork.core.models.compare import compare_partner
from maskwork.gui.compare.window import CompareWindow
from maskwork.gui.panels import model_jobs
from maskwork.gui.state import AppState
from tests.gui.panels_support import make_nuclei_project, open_image, open_project

YOLO = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "yolo11n-seg-quantized.onnx"
WAIT_MS = 120_000


@pytest.fixture
def yolo_state(tmp_path, nuclei_val, isolated_config, monkeypatch):
    if not YOLO.is_file():
        pytest.skip(f"the seed's YOLO model is not at {YOLO}")
    from maskwork.core.models.onnx_models.register import register_onnx

    monkeypatch.setenv("MASKWORK_OFFLINE", "1")  # nothing is fetched by these tests
    register_onnx(YOLO, name="yolo")
    project = make_nuclei_project(tmp_path / "proj", nuclei_val, "instance", n=1)
    state = AppState()
    open_project(state, project)
    open_image(state, project.image_names()[0])
    state.model_name = "yolo"
    return state


def _listed(qtbot, state) -> CompareWindow:
    win = CompareWindow(state)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.picker_a.combo.count() > 1 and not win.jobs.busy, timeout=WAIT_MS)
    return win


def test_partner_is_the_int8_twin_or_a_model_with_the_same_classes(yolo_state):
    entries = model_jobs.list_models()
    assert compare_partner("nuclei-instance", entries) == ("nuclei-instance", True)  # switchable: float vs int8
    name, int8 = compare_partner("yolo", entries)
    shared = {c.name for c in next(e for e in entries if e.name == name).classes}
    assert name != "yolo" and "person" in shared and int8 is False
    assert compare_partner("yolo", [e for e in entries if e.name in ("yolo", "nuclei-instance")]) is None


def test_an_int8_only_model_is_compared_with_another_model(qtbot, yolo_state):
    win = _listed(qtbot, yolo_state)
    a, b = win.picker_a.choice(), win.picker_b.choice()
    assert a == ("yolo", True) and not win.picker_a.int8.isEnabled()  # the file is int8: shown, fixed
    assert b[0] != "yolo" and b[0].startswith("maskrcnn")               # a model that knows person, car, ...
    text = win.mean_label.text()
    assert "press Compare to fetch" in text and b[0] in text and "switch int8" not in text
    assert win.compare_button.isEnabled()


def test_without_a_partner_the_window_says_what_to_do(qtbot, yolo_state, monkeypatch):
    real = model_jobs.list_models
    monkeypatch.setattr(model_jobs, "list_models", lambda progress=None, cancel=None: [
        e for e in real() if e.name in ("yolo", "nuclei-instance")])
    win = _listed(qtbot, yolo_state)
    text = win.mean_label.text()
    assert "already an int8 file" in text and "Add model file" in text and "IoU panel" in text
    win.start()  # Compare pressed anyway: A and B are both that model
    assert win.mean_label.text() == "A and B are the same model: pick another model for B."
