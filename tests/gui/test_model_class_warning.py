"""Model panel: a model whose classes or task do not fit the project is flagged before anything runs.

Real bundled models on real images: the nuclei model in a project with the aerial class list, the
aerial model in a project listing those classes in another order, an instance model on a semantic project.
"""
from __future__ import annotations

import os

import numpy as np

from maskwork.core.models.catalog.classlists import aerial_classes
from maskwork.core.models.predictor_cache import PREDICTORS
from maskwork.gui.panels.model_panel import ModelPanel
from maskwork.gui.state import AppState
from tests.gui.panels_support import make_nuclei_project, nuclei_pick, open_image, open_project
from tests.unit.real_models import project_of
from tests.unit.test_class_map import permuted_aerial

WAIT_MS = 120_000


def _panel(qtbot, state, model):
    panel = ModelPanel(state)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.combo.findData(model) >= 0, timeout=WAIT_MS)
    panel.select_model(model)
    panel.show()
    return panel


def _aerial_project_of_nuclei(tmp_path, nuclei_val):
    images, _ = nuclei_pick(nuclei_val, 2)
    project = project_of(tmp_path / "proj", [nuclei_val.parent / "images" / i["file_name"] for i in images],
                         aerial_classes(), "semantic")
    state = AppState()
    open_project(state, project)
    open_image(state, project.image_names()[0])
    return state, project


def test_nuclei_model_in_an_aerial_project_warns_before_running(qtbot, tmp_path, nuclei_val, isolated_config,
                                                               real_models):
    state, project = _aerial_project_of_nuclei(tmp_path, nuclei_val)
    panel = _panel(qtbot, state, "nuclei-semantic")
    bar = panel.fit_bar
    assert bar.isVisible()
    assert bar.label.text() == ("None of nuclei-semantic's classes (nucleus) is in this project; its output would "
                                "be ignored.")
    assert bar.add_button.isVisible() and bar.ignore_button.isVisible()
    assert PREDICTORS.get("nuclei-semantic", False) is None  # nothing loaded, nothing ran
    assert state.annotation.prediction is None
    if os.environ.get("MASKWORK_SCREENSHOT"):
        panel.resize(420, panel.sizeHint().height())
        panel.grab().save(os.environ["MASKWORK_SCREENSHOT"])

    bar.ignore_button.click()
    assert project.settings["class_fit"] == {"nuclei-semantic": "ignore"}
    assert bar.label.text().endswith("its output is ignored.") and not bar.ignore_button.isVisible()
    with qtbot.waitSignal(state.prediction_changed, timeout=WAIT_MS):
        panel.run_button.click()
    raw = real_models("nuclei-semantic").predict(state.image).label_map
    assert (raw == 1).sum() > 100  # the model saw nuclei ...
    assert not state.annotation.prediction.label_map.any()  # ... which did not become "building" (id 1)
    assert project.classes == aerial_classes()

    with qtbot.waitSignal(state.classes_changed, timeout=1000):
        bar.add_button.click()
    nucleus = project.classes.by_name("nucleus")
    assert nucleus.id == 6 and nucleus.color == real_models("nuclei-semantic").classes.get(1).color
    assert project.settings["class_fit"] == {"nuclei-semantic": "add"}
    assert not bar.isVisible()  # every model class now has its project class
    with qtbot.waitSignal(state.prediction_changed, timeout=WAIT_MS):
        panel.run_button.click()
    assert np.array_equal(state.annotation.prediction.label_map, np.where(raw == 1, 6, 0))


def test_the_choice_is_remembered_per_model_in_the_project(qtbot, tmp_path, nuclei_val, isolated_config,
                                                          real_models):
    state, project = _aerial_project_of_nuclei(tmp_path, nuclei_val)
    project.settings["class_fit"] = {"nuclei-semantic": "ignore"}
    panel = _panel(qtbot, state, "nuclei-semantic")
    assert panel.fit_bar.choice() == "ignore" and not panel.fit_bar.ignore_button.isVisible()
    assert panel.fit_bar.add_button.isVisible()
    panel.select_model("nuclei-instance")  # another model: not chosen yet, and of the other task
    text = panel.fit_bar.label.text()
    assert text.startswith("nuclei-instance is an instance model and this project is semantic")
    assert "None of nuclei-instance's classes (nucleus) is in this project" in text
    assert panel.fit_bar.ignore_button.isVisible()


def test_aerial_model_in_a_reordered_aerial_project_fits(qtbot, tmp_path, aerial_dir, isolated_config, real_models):
    project = project_of(tmp_path / "proj", [aerial_dir / "images" / "tile1_001.jpg"], permuted_aerial(), "semantic")
    state = AppState()
    open_project(state, project)
    open_image(state, project.image_names()[0])
    panel = _panel(qtbot, state, "aerial-landcover")
    assert not panel.fit_bar.isVisible()
    with qtbot.waitSignal(state.prediction_changed, timeout=WAIT_MS):
        panel.run_button.click()
    raw = real_models("aerial-landcover").predict(state.image).label_map
    lut = np.array([0, 4, 3, 2, 5, 1], np.uint8)  # aerial id -> permuted id (building is 4th, land 3rd...)
    assert np.array_equal(state.annotation.prediction.label_map, lut[raw])


def test_instance_model_on_a_semantic_project_is_painted(qtbot, tmp_path, nuclei_val, isolated_config, real_models):
    project = make_nuclei_project(tmp_path / "proj", nuclei_val, "semantic", n=1)
    state = AppState()
    open_project(state, project)
    open_image(state, project.image_names()[0])
    panel = _panel(qtbot, state, "nuclei-instance")
    assert "painted into a label map, higher scores on top" in panel.fit_bar.label.text()
    assert not panel.fit_bar.add_button.isVisible()  # the classes fit
    with qtbot.waitSignal(state.prediction_changed, timeout=WAIT_MS):
        panel.run_button.click()
    pred = state.annotation.prediction
    assert pred.label_map is not None and not pred.instances and pred.label_map.any()
    assert set(np.unique(pred.label_map)) <= {0, 1}
