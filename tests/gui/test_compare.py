"""Compare window on a real nuclei image: two models side by side / swipe, latencies, agreement = core's."""
from __future__ import annotations

import math

import numpy as np
import pytest

from maskwork.core.models.compare import instance_agreement, semantic_agreement
from maskwork.gui.compare.window import CompareWindow
from maskwork.gui.state import AppState
from tests.gui.panels_support import make_nuclei_project, make_tiny_model, open_image, open_project

WAIT_MS = 240_000


@pytest.fixture
def window(qtbot, tmp_path, nuclei_val, isolated_config):
    project = make_nuclei_project(tmp_path / "proj", nuclei_val, "semantic", n=2)
    state = AppState()
    open_project(state, project)
    open_image(state, project.image_names()[0])
    win = CompareWindow(state)
    qtbot.addWidget(win)
    return state, win


def _core_agreement(outcome, threshold):
    """What core.models.compare computes for these two results, recomputed here independently."""
    a, b = outcome.a.result, outcome.b.result
    if hasattr(a, "label_map"):
        return semantic_agreement(a, b)
    per, mean, _extra = instance_agreement(a, b, threshold)
    return per, mean


def _run(qtbot, win, a, b):
    win.picker_a.combo.setCurrentText(a[0])
    win.picker_a.int8.setChecked(a[1])
    win.picker_b.combo.setCurrentText(b[0])
    win.picker_b.int8.setChecked(b[1])
    win.show()
    qtbot.waitUntil(lambda: not win.jobs.busy, timeout=WAIT_MS)
    win.compare_button.click()
    qtbot.waitUntil(lambda: win.outcome is not None or bool(win.jobs.last_error), timeout=WAIT_MS)
    assert not win.jobs.last_error
    return win.outcome


def test_two_models_side_by_side_with_core_agreement(qtbot, window, tmp_path):
    state, win = window
    a = make_tiny_model(tmp_path, "semantic", "tiny-a", seed=0)
    b = make_tiny_model(tmp_path, "semantic", "tiny-b", seed=1)
    win.set_model_names([a, b])
    out = _run(qtbot, win, (a, False), (b, False))
    assert out.a.label.startswith(a) and out.b.label.startswith(b)
    for label, side in ((win.stats_a, out.a), (win.stats_b, out.b)):
        assert side.latency_ms > 0 and side.size_bytes > 0
        assert f"{side.latency_ms:.0f} ms" in label.text()
    per_class, mean = _core_agreement(out, state.score_threshold)
    assert out.mean_iou == pytest.approx(mean, nan_ok=True)
    assert f"{mean:.3f}" in win.mean_label.text()
    shown = {win.table.item(r, 0).text(): win.table.item(r, 1).text() for r in range(win.table.rowCount())}
    names = {c.id: c.name for c in out.a.result.classes}
    assert shown == {names[c]: f"{v:.3f}" for c, v in per_class.items() if not math.isnan(v)}
    # the highlight marks exactly the pixels whose class differs
    assert np.array_equal(win.diff_mask, out.a.result.label_map != out.b.result.label_map)
    assert f"{100 * win.diff_mask.mean():.2f}% of pixels differ" in win.mean_label.text()

    # linked zoom and pan
    win.view_a.zoom_by(4.0)
    assert win.view_b.zoom == pytest.approx(win.view_a.zoom)
    win.view_b.horizontalScrollBar().setValue(win.view_b.horizontalScrollBar().maximum() // 2)
    assert win.view_a.horizontalScrollBar().value() == win.view_b.horizontalScrollBar().value()
    # swipe
    win.mode.setCurrentIndex(1)
    assert win.stack.currentIndex() == 1
    win.swipe_slider.setValue(250)
    assert win.swipe.b_overlay_item.split == pytest.approx(0.25)
    win.diff_box.setChecked(False)
    assert not win.swipe.diff_item.isVisible() and not win.view_a.diff_item.isVisible()


def test_same_model_twice_is_refused_with_a_hint(qtbot, window, tmp_path):
    _state, win = window
    win.set_model_names(["tiny-a"])
    win.picker_b.int8.setChecked(False)
    win.compare_button.click()
    assert "same model" in win.mean_label.text() and not win.jobs.busy


@pytest.mark.slow
def test_float_vs_int8(qtbot, window, tmp_path):
    state, win = window
    name = make_tiny_model(tmp_path, "semantic", "tiny-lraspp", arch="lraspp_mobilenet_v3_large")
    win.set_model_names([name])  # default: A float, B int8
    win._listed = True  # only our model: no registry listing when the window shows
    assert win.picker_a.choice() == (name, False) and win.picker_b.choice() == (name, True)
    out = _run(qtbot, win, (name, False), (name, True))
    assert "int8" in out.b.label and "float" in out.a.label
    assert out.b.size_bytes < out.a.size_bytes / 2  # int8 weights are a quarter of float32's
    _per_class, mean = _core_agreement(out, state.score_threshold)
    assert out.mean_iou == pytest.approx(mean, nan_ok=True)


def test_instance_models_agreement_per_instance(qtbot, tmp_path, nuclei_val, isolated_config):
    project = make_nuclei_project(tmp_path / "proj", nuclei_val, "instance", n=1)
    state = AppState()
    open_project(state, project)
    open_image(state, project.image_names()[0])
    state.score_threshold = 0.0  # random weights: keep every detection so both sides have objects
    win = CompareWindow(state)
    qtbot.addWidget(win)
    a = make_tiny_model(tmp_path, "instance", "tiny-inst-a", seed=0)
    b = make_tiny_model(tmp_path, "instance", "tiny-inst-b", seed=1)
    win.set_model_names([a, b])
    out = _run(qtbot, win, (a, False), (b, False))
    per_instance, mean = _core_agreement(out, state.score_threshold)
    assert out.kind == "instance" and len(per_instance) == len(out.a.result.keep(0.0)) > 0
    assert win.table.rowCount() == len(per_instance)
    layer_a = out.a.result.to_layer(0.0)  # row k is A's instance k: same id as in A's prediction layer
    for r, (inst, iou) in enumerate(zip(layer_a.instances, per_instance)):
        assert win.table.item(r, 0).text() == f"#{inst.id} nucleus"
        assert win.table.item(r, 1).text() == f"{iou:.3f}"
    assert out.mean_iou == pytest.approx(mean)
