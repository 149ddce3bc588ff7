"""The Model panel's Refine choice (issue 21): "Run on all images" with Refine 'edges' stores refined
predictions, in the panel's worker with progress and cancel, fitting the truth better than the model's own
masks, and never touches a corrected or locked object. Real data, the bundled nuclei-instance model."""
from __future__ import annotations

import numpy as np
import pytest

from maskwork.core.domain.annotation import Source
from maskwork.core.refine.edges import refine_edges
from maskwork.gui.panels.model_panel import ModelPanel
from maskwork.gui.state import AppState
from tests.gui.panels_support import make_nuclei_project, open_image, open_project

WAIT_MS = 180_000


@pytest.fixture
def refine_setup(qtbot, tmp_path, nuclei_val, isolated_config):
    """Two real nuclei images whose corrected layers are the truth (a person's objects), the bundled model."""
    state, project = AppState(), make_nuclei_project(tmp_path / "proj", nuclei_val, "instance", n=2)
    open_project(state, project)
    open_image(state, project.image_names()[0])
    panel = ModelPanel(state)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.combo.findData("nuclei-instance") >= 0, timeout=WAIT_MS)
    panel.select_model("nuclei-instance")
    return state, project, panel


def _best_ious(truths, preds) -> list[float]:
    return [max((t.iou(p) for p in preds), default=0.0) for t in truths]


def test_run_all_with_refine_edges_stores_refined_predictions_and_spares_corrections(qtbot, refine_setup):
    state, project, panel = refine_setup
    names = project.image_names()
    state.flags.set_locked(project.annotation(names[0]).corrected.instances[0].id, True)
    corrected = {n: [(i.id, i.mask, i.source) for i in project.annotation(n).corrected.instances] for n in names}
    assert [panel.refine_box.itemData(k) for k in range(panel.refine_box.count())] == ["none", "edges", "zoom"]

    raw = {}
    with qtbot.waitSignal(state.annotations_changed, timeout=WAIT_MS):
        panel.run_all_button.click()  # Refine 'none' (the default): the model's masks
    for n in names:
        raw[n] = [i.mask for i in project.annotation(n).prediction.instances]
        assert raw[n] and all(i.source == Source.MODEL for i in project.annotation(n).prediction.instances)

    panel.refine_box.set_method("edges")
    assert project.settings["refine"] == "edges"  # the project remembers the choice
    with qtbot.waitSignal(state.annotations_changed, timeout=WAIT_MS):
        panel.run_all_button.click()
    assert panel.jobs.cancel_button is not None  # the same worker and job bar as any run
    gains = []
    for n in names:
        ann = project.annotation(n)
        got = ann.prediction.instances
        assert [i.source for i in got] == [Source.REFINED] * len(raw[n])
        image = project.image(n)
        assert [i.mask for i in got] == [refine_edges(image, m) for m in raw[n]]  # refined in the worker
        truths = [i.mask for i in ann.corrected.instances]
        gains.append(np.mean(_best_ious(truths, [i.mask for i in got])) - np.mean(_best_ious(truths, raw[n])))
        # the corrected layer (made and locked by a person) is exactly as it was
        assert [(i.id, i.mask, i.source) for i in ann.corrected.instances] == corrected[n]
    assert np.mean(gains) > 0, gains  # refined masks fit the true nuclei better than the model's own


def test_refined_run_keeps_its_threshold_and_refilters_up(qtbot, refine_setup):
    """The slider re-filters a refined result without a new run: up hides objects, all stay 'refined'."""
    state, project, panel = refine_setup
    panel.refine_box.set_method("edges")
    with qtbot.waitSignal(state.prediction_changed, timeout=WAIT_MS):
        panel.run_button.click()
    shown = state.annotation.prediction.instances
    assert len(shown) > 2 and all(i.source == Source.REFINED for i in shown)
    scores = sorted(i.score for i in shown)
    with qtbot.waitSignal(state.prediction_changed, timeout=5000):
        panel.slider.setValue(int(np.ceil(scores[len(scores) // 2] * 100)))
    fewer = state.annotation.prediction.instances
    assert 0 < len(fewer) < len(shown) and all(i.source == Source.REFINED for i in fewer)


def test_refine_with_the_sam_tools_model_when_there_is_one(qtbot, refine_setup, tiny_pair):
    """'sam' is offered only while a SAM-family model is at hand (the window hands the SAM tool's); a run with it
    refines every object by core/refine/sam.py's choice. The tiny SAM (random weights): wiring, not quality."""
    from maskwork.core.interactive.sam.model import PromptModel
    from maskwork.core.refine.sam import refine_sam

    state, _project, panel = refine_setup
    box = panel.refine_box
    box.showPopup()
    box.hidePopup()
    assert box.findData("sam") < 0  # no SAM model: not offered
    model = PromptModel(*tiny_pair)
    box.sam_model = lambda: model
    box.showPopup()
    box.hidePopup()
    assert box.findData("sam") >= 0
    panel.slider.setValue(99)  # the most confident nuclei: each costs two SAM decodes in the run
    with qtbot.waitSignal(state.prediction_changed, timeout=WAIT_MS):
        panel.run_button.click()  # 'none': the model's masks
    raw = [i.mask for i in state.annotation.prediction.instances]
    assert raw
    box.set_method("sam")
    with qtbot.waitSignal(state.prediction_changed, timeout=WAIT_MS):
        panel.run_button.click()
    embedding = model.encode(state.image)
    got = state.annotation.prediction.instances
    assert len(got) == len(raw) and all(i.source == Source.REFINED for i in got)
    assert [i.mask for i in got[:6]] == [refine_sam(model, embedding, m) for m in raw[:6]]
