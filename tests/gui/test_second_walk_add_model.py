"""Issue 18, section 3: Model > Add model file works in a worker behind a busy bar (it took 5 s with no
sign of life), and the same file is not added twice under two names without a word: the dialog says it is
already there and offers that entry."""
from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from maskwork.core.models.catalog.model_files import registered_as
from maskwork.core.models.onnx_models.register import register_onnx
from maskwork.gui.dialogs import add_model
from maskwork.gui.dialogs.add_model import AddModelDialog
from maskwork.gui.state import AppState

YOLO = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "yolo11n-seg-quantized.onnx"


@pytest.fixture()
def config(tmp_path, monkeypatch):
    if not YOLO.is_file():
        pytest.skip(f"the seed's YOLO model is not at {YOLO}")
    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config" / "models.json"


def _names(config) -> list[str]:
    return [e["name"] for e in json.loads(config.read_text())["models"]]


def _add(qtbot, state, path, name) -> AddModelDialog:
    dialog = AddModelDialog(state)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.path.setText(str(path))
    dialog.name.setText(name)
    dialog.register()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=60_000)
    return dialog


def test_registering_runs_in_a_worker_behind_a_busy_bar(qtbot, config, monkeypatch):
    state = AppState()
    dialog = AddModelDialog(state)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.path.setText(str(YOLO))
    threads, gate = [], threading.Event()
    real = add_model.register_file

    def held(*args, **kwargs):  # the worker waits until the test has seen the dialog while it works
        threads.append(threading.current_thread() is threading.main_thread())
        gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(add_model, "register_file", held)
    dialog.register()
    qtbot.waitUntil(lambda: bool(threads), timeout=10_000)
    assert dialog.busy.isVisible() and not dialog.buttons.isEnabled() and not dialog.path.isEnabled()
    with qtbot.waitSignal(state.model_changed, timeout=60_000):
        gate.set()
    assert threads == [False] and not dialog.busy.isVisible()
    assert state.model_name == "yolo11n-seg-quantized" and _names(config) == ["yolo11n-seg-quantized"]


def test_the_same_file_under_another_name_offers_the_existing_entry(qtbot, config, tmp_path):
    state = AppState()
    _add(qtbot, state, YOLO, "yolo")
    copy = tmp_path / "elsewhere" / "my-yolo.onnx"  # another path, the same bytes
    copy.parent.mkdir()
    shutil.copy(YOLO, copy)
    for path in (YOLO, copy):
        dialog = _add(qtbot, state, path, "yolo-again")
        assert "already in your models as 'yolo'" in dialog.about.text()
        assert dialog.use_existing.isVisible() and dialog.use_existing.text() == "Use 'yolo'"
        assert _names(config) == ["yolo"] and dialog.result() != dialog.DialogCode.Accepted
    state.model_name = None
    dialog.use_existing.click()
    assert state.model_name == "yolo" and dialog.result() == dialog.DialogCode.Accepted
    # the user insists: a second entry, asked for
    dialog = AddModelDialog(state)
    qtbot.addWidget(dialog)
    dialog.path.setText(str(copy))
    dialog.name.setText("yolo-again")
    dialog.add_again.setChecked(True)
    with qtbot.waitSignal(state.model_changed, timeout=60_000):
        dialog.register()
    assert _names(config) == ["yolo", "yolo-again"]


def test_registered_as_knows_paths_and_bytes_and_ignores_other_files(config, tmp_path):
    other = tmp_path / "other.onnx"
    other.write_bytes(YOLO.read_bytes()[:-1] + b"x")  # same size, other bytes
    assert registered_as(YOLO) is None
    register_onnx(YOLO, name="y")
    assert registered_as(YOLO) == "y" and registered_as(YOLO, new_name="y") is None  # same name: an update
    assert registered_as(other) is None
