"""The Dataset tab's second model: A and B over a real nuclei project, the table, the images where B loses in
the image list, a row opening the compare window on both models."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from maskwork.gui.panels.dataset_panel import DatasetPanel
from maskwork.gui.panels.image_list import ImageListPanel
from maskwork.gui.state import AppState
from tests.gui.panels_support import make_nuclei_project, open_project

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def weaker_model(tmp_path) -> str:
    """nuclei-semantic with its nucleus logit lowered: it finds fewer nuclei, so it loses to A."""
    import torch

    from maskwork.core.domain.annotation import ClassList
    from maskwork.core.models.torch_models.checkpoint import save_checkpoint

    ckpt = torch.load(ROOT / "resources/models/nuclei-semantic.pt", weights_only=True)
    state = dict(ckpt["state_dict"])
    bias = state["head.bias"].clone()
    bias[1] -= 3.0
    state["head.bias"] = bias
    out = tmp_path / "weaker.pt"
    save_checkpoint(out, arch=ckpt["arch"], task=ckpt["task"], classes=ClassList.from_list(ckpt["classes"]),
                    state_dict=state, input_spec=ckpt["input"])
    return str(out)


def test_two_models_over_the_project(qtbot, tmp_path, nuclei_val, weaker_model, monkeypatch):
    monkeypatch.setenv("MASKWORK_CACHE_DIR", str(tmp_path / "cache"))
    project = make_nuclei_project(tmp_path / "p", nuclei_val, "semantic", n=3)
    state = AppState()
    open_project(state, project)
    panel, images = DatasetPanel(state), ImageListPanel(state)
    for w in (panel, images):
        qtbot.addWidget(w)
    images.model.set_project(project)
    tab = panel.comparison
    tab.set_model_names(["nuclei-semantic", weaker_model], "nuclei-semantic", weaker_model)
    panel.pages.setCurrentWidget(tab)
    panel.show()
    project.mark_dirty(sorted(project.image_names())[0])  # an edit not saved yet: the comparison reads the files
    with qtbot.waitSignal(tab.jobs.busy_changed, timeout=300_000, check_params_cb=lambda busy: not busy):
        tab.run_button.click()
    assert "1 image with unsaved changes compared as last saved: save (Ctrl+S)" in tab.verdict.text()

    names = sorted(project.image_names())
    result = tab.comparison
    assert result is not None and sorted(r.image for r in result.rows) == names
    assert result.overall["b"] < result.overall["a"]  # the weaker model loses, and the tab says so
    assert "A (nuclei-semantic) is better" in tab.verdict.text()
    shown = [tab.proxy.index(r, 0).data() for r in range(tab.proxy.rowCount())]
    diffs = [tab.proxy.index(r, 3).data(Qt.ItemDataRole.UserRole + 1) for r in range(tab.proxy.rowCount())]
    assert sorted(shown) == names and diffs == sorted(diffs)  # B's worst losses first

    losses = result.losses()
    assert losses and tab.review_button.isVisibleTo(panel)
    tab.review_button.click()
    listed = {images.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 1) for r in range(images.proxy.rowCount())}
    assert listed == set(losses)
    images.only_button.click()
    assert images.proxy.rowCount() == len(names)

    opened = []
    state.open_requested.connect(opened.append)
    first = tab.proxy.index(0, 0)
    started = []
    from maskwork.gui.compare.window import CompareWindow

    monkeypatch.setattr(CompareWindow, "start", lambda self: started.append(
        (self.picker_a.choice(), self.picker_b.choice())))
    tab.table.clicked.emit(first)
    assert opened == [shown[0]]
    state.current_name = shown[0]
    state.image_changed.emit(shown[0])  # what the main window does once the image is open
    assert started == [(("nuclei-semantic", False), (weaker_model, False))]


def test_a_comparison_asked_for_elsewhere_runs_on_the_two_models_page(qtbot, tmp_path, nuclei_val, weaker_model,
                                                                       monkeypatch):
    """What the train dialog's "Compare with the start model" asks: the page comes up and compares them."""
    monkeypatch.setenv("MASKWORK_CACHE_DIR", str(tmp_path / "cache"))
    project = make_nuclei_project(tmp_path / "p", nuclei_val, "semantic", n=2)
    state = AppState()
    open_project(state, project)
    panel = DatasetPanel(state)
    qtbot.addWidget(panel)
    tab = panel.comparison
    tab.load_model_names = lambda: None  # the registry's list is not needed: the request names both models
    panel.show()
    with qtbot.waitSignal(tab.jobs.busy_changed, timeout=300_000, check_params_cb=lambda busy: not busy):
        state.request_comparison(weaker_model, "nuclei-semantic")
    assert panel.pages.currentWidget() is tab
    assert tab.picker_a.choice() == (weaker_model, False) and tab.picker_b.choice() == ("nuclei-semantic", False)
    assert tab.comparison is not None and "B (nuclei-semantic) is better" in tab.verdict.text()
