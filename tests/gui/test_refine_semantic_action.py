"""Edit > Refine all on a semantic image (issue 21): the region borders of the correction move onto the
image's edges where the correction still holds the model's prediction, in a worker, as ONE undo step; pixels
a person painted and locked classes never change. Real aerial crop, the bundled aerial-landcover model."""
from __future__ import annotations

import numpy as np

from maskwork.core.domain.annotation import Layer
from tests.gui.objects_support import open_aerial_truth


def _miou(pred: np.ndarray, truth: np.ndarray) -> float:
    ious = [((truth == c) & (pred == c)).sum() / ((truth == c) | (pred == c)).sum() for c in range(1, 6)
            if ((truth == c) | (pred == c)).any()]
    return float(np.mean(ious))


def test_refine_all_on_a_semantic_image_moves_model_borders_only(qtbot, window, aerial_folder, aerial_dir, tmp_path):
    from maskwork.core.models.predict import Predictor

    open_aerial_truth(window, aerial_folder, aerial_dir, tmp_path)
    state = window.state
    prediction = Predictor("aerial-landcover").predict(state.image).label_map
    state.annotation.prediction = Layer(label_map=prediction)
    corrected = prediction.copy()  # accepted from the model, then a person painted a square with the brush
    corrected[120:170, 120:170] = 4  # straight sides across the image's edges: refined, they would move
    state.annotation.corrected.label_map = corrected.copy()
    person = corrected != prediction
    counts = np.bincount(corrected.ravel(), minlength=6)
    locked_class = min((c for c in range(1, 6) if counts[c]), key=lambda c: counts[c])  # the smallest one present
    window.state.flags.set_class_locked(locked_class, True)
    state.notify_edit(None)
    steps = window.editor.undo.activeStack().count()
    said = []
    state.status_message.connect(said.append)

    window.actions_["refine_image"].trigger()
    bar = window.features.refine.bar
    assert bar.busy  # in a worker, the window stays responsive
    qtbot.waitUntil(lambda: not bar.busy, timeout=120_000)
    assert "pixels changed (one undo step)" in said[-1]

    after = state.annotation.corrected.label_map
    assert (after != corrected).sum() > 50
    assert np.array_equal(after[person], corrected[person])  # the person's pixels
    assert np.array_equal(after == locked_class, corrected == locked_class)  # a locked class neither loses nor gains
    assert window.editor.undo.activeStack().count() == steps + 1
    window.editor.undo.undo()
    assert np.array_equal(state.annotation.corrected.label_map, corrected)


def test_refine_all_on_a_semantic_image_fits_the_truth_better(qtbot, window, aerial_folder, aerial_dir, tmp_path):
    """Without locks or a person's pixels the refined correction scores better than the model's own map."""
    from maskwork.core.models.predict import Predictor

    truth = open_aerial_truth(window, aerial_folder, aerial_dir, tmp_path)
    state = window.state
    prediction = Predictor("aerial-landcover").predict(state.image).label_map
    state.annotation.prediction = Layer(label_map=prediction)
    state.annotation.corrected.label_map = prediction.copy()
    state.notify_edit(None)
    window.actions_["refine_image"].trigger()
    qtbot.waitUntil(lambda: not window.features.refine.bar.busy, timeout=120_000)
    assert _miou(state.annotation.corrected.label_map, truth) > _miou(prediction, truth)


def test_refine_on_a_semantic_image_without_prediction_says_what_to_do(qtbot, window, aerial_folder, aerial_dir,
                                                                     tmp_path):
    open_aerial_truth(window, aerial_folder, aerial_dir, tmp_path)
    said = []
    window.state.status_message.connect(said.append)
    window.state.annotation.prediction = None
    assert window.features.refine.image() is None
    assert "run the model and accept its prediction first" in said[-1]
