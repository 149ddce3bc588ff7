"""Train dialog: trains a tiny model on real corrected nuclei images, plots curves, registers the model when kept."""
from __future__ import annotations

import math

import pytest

from maskwork.gui.dialogs.train_dialog import TrainDialog
from maskwork.gui.state import AppState
from maskwork.gui.widgets.plot import MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_TOP
from tests.gui.panels_support import make_nuclei_project, open_project

WAIT_MS = 240_000
ARCH = "unet_small"  # the lightest registry architecture: two epochs take seconds on a CPU


@pytest.fixture
def dialog(qtbot, tmp_path, nuclei_val, isolated_config):
    project = make_nuclei_project(tmp_path / "proj", nuclei_val, "semantic", n=3)
    state = AppState()
    open_project(state, project)
    dlg = TrainDialog(state)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.arch.count() > 0 and dlg.start_button.isEnabled(), timeout=WAIT_MS)
    return state, project, dlg


def test_lists_architectures_of_the_project_task(qtbot, dialog):
    from maskwork.core.models.torch_models.architectures import ARCHITECTURES

    _state, _project, dlg = dialog
    listed = [dlg.arch.itemData(i) for i in range(dlg.arch.count())]
    assert listed and all(ARCHITECTURES[a].task == "semantic" for a in listed)
    assert "3 corrected images" in dlg.available.text()


def test_two_tiny_epochs_plot_curves_and_offer_the_new_model(qtbot, dialog):
    from maskwork.core.models.catalog.registry import get_model

    state, project, dlg = dialog
    dlg.start_from.setCurrentIndex(0)  # from scratch: no start model to beat, the run is always offered
    dlg.arch.setCurrentIndex(dlg.arch.findData(ARCH))
    dlg.epochs.setValue(2)
    dlg.steps.setValue(3)
    dlg.crop.setValue(128)
    dlg.out_name.setText("tiny-trained")
    dlg.start_button.click()
    assert not dlg.start_button.isEnabled() and dlg.jobs.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: dlg.outcome is not None, timeout=WAIT_MS)
    loss = dlg.loss_chart.points("train loss")
    metric = dlg.metric_chart.points("validation mean IoU")
    assert [x for x, _ in loss] == [1, 2] and all(math.isfinite(y) and y > 0 for _, y in loss)
    assert [x for x, _ in metric] == [1, 2] and all(0.0 <= y <= 1.0 for _, y in metric)
    assert dlg.outcome.epochs_done == 2 and dlg.outcome.saved
    for chart in (dlg.loss_chart, dlg.metric_chart):  # the curves are really drawn, in the series colour
        chart.resize(400, 250)
        image = chart.grab().toImage()
        colour = chart._colors[chart.series_names()[0]].rgb()
        plot_area = ((x, y) for x in range(MARGIN_LEFT, 400) for y in range(MARGIN_TOP + 2, 250 - MARGIN_BOTTOM))
        assert any(image.pixel(x, y) == colour for x, y in plot_area)  # not just the legend swatch
    assert (project.root / ".maskwork" / "models" / "tiny-trained.pt").is_file()
    assert "Keep it as model 'tiny-trained', or discard it." in dlg.status.text() and not dlg.keep_button.isHidden()
    dlg.keep_button.click()  # offered, not added by itself
    qtbot.waitUntil(lambda: dlg.switch_button.isEnabled(), timeout=WAIT_MS)
    spec = get_model("tiny-trained")  # registered: the model panel lists it
    assert spec.arch == ARCH and spec.classes.names() == project.classes.names()
    assert dlg.switch_button.isEnabled()
    with qtbot.waitSignal(state.model_changed, timeout=1000):
        dlg.switch_button.click()
    assert state.model_name == "tiny-trained"
    assert dlg.prelabel_button.isEnabled() and dlg.prelabel_button.text() == "Pre-label the 3 images not reviewed"
    with qtbot.waitSignal(state.predict_requested, timeout=1000) as asked:  # the model panel runs them
        dlg.prelabel_button.click()
    assert asked.args == [list(project.image_names())]


def test_cancel_stops_training(qtbot, dialog):
    _state, _project, dlg = dialog
    dlg.arch.setCurrentIndex(dlg.arch.findData(ARCH))
    dlg.epochs.setValue(50)
    dlg.crop.setValue(128)
    dlg.start_button.click()
    qtbot.waitUntil(lambda: dlg.jobs.bar.maximum() > 1, timeout=WAIT_MS)  # steps are being reported
    with qtbot.waitSignal(dlg.jobs.busy_changed, timeout=WAIT_MS):
        dlg.jobs.cancel_button.click()
    assert "cancelled" in dlg.status.text().lower()
    assert len(dlg.epochs_seen) < 50
    assert dlg.start_button.isEnabled()


def test_starting_from_a_model_selects_its_architecture(qtbot, dialog):
    from maskwork.core.models.catalog.registry import get_model

    _state, _project, dlg = dialog
    names = [dlg.start_from.itemText(i) for i in range(dlg.start_from.count())]
    assert names[0].startswith("scratch") and "nuclei-semantic" in names
    dlg.start_from.setCurrentIndex(names.index("nuclei-semantic"))
    assert dlg.arch.currentData() == get_model("nuclei-semantic").arch


def test_refuses_a_builtin_name_and_cleans_odd_characters(qtbot, dialog):
    from maskwork.core.training.project_run import safe_name

    _state, _project, dlg = dialog
    dlg.out_name.setText("nuclei-semantic")
    dlg.start_button.click()
    assert "built-in" in dlg.status.text() and not dlg.jobs.busy
    assert safe_name(" my model/v2 ") == "my-model-v2" and safe_name("///") == "my-model"


def test_no_corrected_image_no_start(qtbot, tmp_path, nuclei_val, isolated_config):
    from maskwork.core.domain.annotation import Status

    project = make_nuclei_project(tmp_path / "proj", nuclei_val, "semantic", n=1)
    for n in project.image_names():
        project.annotation(n).status = Status.PREDICTED
    state = AppState()
    open_project(state, project)
    dlg = TrainDialog(state)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.arch.count() > 0, timeout=WAIT_MS)
    assert "correct some images first" in dlg.available.text()
    assert not dlg.start_button.isEnabled()
