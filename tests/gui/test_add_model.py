"""Model > Add model file…: the seed's YOLO ONNX registers from the dialog; a bad file registers nothing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from maskwork.gui.dialogs.add_model import AddModelDialog
from maskwork.gui.state import AppState

YOLO = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "yolo11n-seg-quantized.onnx"


@pytest.fixture()
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config" / "models.json"


def test_add_yolo_onnx_from_the_dialog(qtbot, config):
    if not YOLO.is_file():
        pytest.skip(f"the seed's YOLO model is not at {YOLO}")
    state = AppState()
    dialog = AddModelDialog(state)
    qtbot.addWidget(dialog)
    dialog.path.setText(str(YOLO))
    dialog.inspect()
    assert "instance model (yolo-seg, int8), 80 classes: person" in dialog.about.text()
    assert not dialog.form.isRowVisible(dialog.classes)  # the file describes itself: no questions
    dialog.name.setText("yolo-gui")
    with qtbot.waitSignal(state.model_changed, timeout=30_000):
        dialog.register()
    assert state.model_name == "yolo-gui"
    assert [e["name"] for e in json.loads(config.read_text())["models"]] == ["yolo-gui"]


def test_bad_file_shows_one_sentence_and_registers_nothing(qtbot, config, tmp_path, monkeypatch):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not an onnx file at all" * 10)
    shown = []
    monkeypatch.setattr("maskwork.gui.dialogs.messages.show_error", lambda parent, exc, *a: shown.append(str(exc)))
    dialog = AddModelDialog(AppState())
    qtbot.addWidget(dialog)
    dialog.path.setText(str(bad))
    dialog.inspect()
    assert "not a readable ONNX file" in dialog.about.text()
    dialog.register()  # in a worker (issue 18): the one sentence comes when it ends
    qtbot.waitUntil(lambda: dialog.job is None, timeout=30_000)
    assert len(shown) == 1 and "not a readable ONNX file" in shown[0]
    assert not config.exists() and dialog.result() != dialog.DialogCode.Accepted
