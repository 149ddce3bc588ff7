"""YOLO masks decoded lazily (issue 10): a run decodes the masks of the detections at or above its score
threshold; the others are decoded when the threshold comes down to them, or when anything reads the
whole arrays. Every answer is the one an eager decode (threshold 0: every mask at once) gives.

Real coco_sample images; the seed's YOLO11n-seg int8 file (skipped when absent) and the tiny random-weight
Ultralytics export of tests/fixtures/ultralytics, whose noisy masks often come out empty.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from maskwork.core.models.onnx_models import yolo_masks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ultralytics"
SEED = Path(__file__).resolve().parents[3] / "shared" / "models" / "yolo11n-seg-quantized.onnx"
THRESHOLDS = (0.5, 0.4, 0.3, 0.2, 0.1, 0.05)


def _predictor(path: Path):
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    from maskwork.core.models.onnx_models.entries import spec_of
    from maskwork.core.models.onnx_models.register import describe_file
    from maskwork.core.models.onnx_models.runner import OnnxPredictor

    rec, session = describe_file(path)
    return OnnxPredictor(spec_of(path.stem, str(path), rec.task, rec.classes, rec.policy, rec.layout, ""),
                         model=session)


def _prepared(predictor, datasets: Path, names: list[str]):
    from maskwork.core.store.images import read_image

    return [predictor.prepare(read_image(datasets / "coco_sample" / "val2017" / n)) for n in names]


@pytest.fixture()
def decodes(monkeypatch):
    """The masks decoded (BoxLogits.decode's answers) since the last clear()."""
    calls: list = []
    real = yolo_masks.BoxLogits.decode

    def counted(self):
        calls.append(real(self))
        return calls[-1]

    monkeypatch.setattr(yolo_masks.BoxLogits, "decode", counted)
    return calls


def _same_layer(a, b, t: float) -> None:
    ia, ib = a.filtered(t), b.filtered(t)
    assert [(i.id, i.class_id, i.score, i.box) for i in ia] == [(i.id, i.class_id, i.score, i.box) for i in ib]
    assert all(i.mask == j.mask for i, j in zip(ia, ib))


def _same_arrays(a, b) -> None:
    assert len(a) == len(b)
    for name in ("boxes", "class_ids", "scores"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert all(m == n for m, n in zip(a.masks, b.masks))


def test_lowering_the_threshold_gives_the_masks_of_an_eager_decode(datasets, decodes):
    p = _predictor(SEED)
    shown = floor = 0
    for pr in _prepared(p, datasets, ["000000005001.jpg", "000000030213.jpg", "000000166918.jpg"]):
        eager = p.run(pr, score_threshold=0.0)
        decodes.clear()
        lazy = p.run(pr, score_threshold=0.5)
        above = int((eager.scores >= 0.5).sum())
        assert len(decodes) == above  # only what the threshold shows
        shown, floor = shown + above, floor + len(eager.scores)
        for t in THRESHOLDS:  # the user drags the slider down: each step decodes the newly shown ones
            _same_layer(lazy, eager, t)
            assert len(decodes) == int((eager.scores >= t).sum())
        _same_arrays(lazy, eager)
    assert floor > 3 * shown  # most detections above the floor are never shown at 0.5


def test_masks_that_decode_empty_are_dropped_as_an_eager_decode_drops_them(datasets, decodes):
    """The random-weight export has detections whose masks come out empty, under 0.5 too: they never
    show, and the indices keep() gave stay valid after lower thresholds drop such detections below them."""
    from maskwork.core.domain.annotation import as_box

    p = _predictor(FIXTURES / "tiny-seg-dynamic.onnx")
    for pr in _prepared(p, datasets, ["000000175364.jpg", "000000030213.jpg", "000000005001.jpg"]):
        eager, lazy = p.run(pr, score_threshold=0.0), p.run(pr, score_threshold=0.5)
        decodes.clear()
        first = lazy.keep(0.4)
        seen = [(i.score, i.box, i.mask) for i in lazy.filtered(0.4)]
        for t in THRESHOLDS:
            _same_layer(lazy, eager, t)
        assert [(float(lazy.scores[i]), as_box(lazy.boxes[i]), lazy.masks[i]) for i in first] == seen
        _same_arrays(lazy, eager)
        assert sum(m.is_empty for m in decodes) >= 1  # dropped on the way down


def test_a_lazy_result_pickles_without_decoding_and_crosses_the_cluster_wire(datasets, decodes):
    from maskwork.core.cluster import codec
    from maskwork.core.models.cross_task import painted

    p = _predictor(SEED)
    (pr,) = _prepared(p, datasets, ["000000005001.jpg"])
    eager, lazy = p.run(pr, score_threshold=0.0), p.run(pr, score_threshold=0.5)
    decodes.clear()
    back = pickle.loads(pickle.dumps(lazy))
    assert decodes == []  # pending masks travel as the few logits they read
    for t in THRESHOLDS:
        _same_layer(back, eager, t)
    _same_arrays(back, eager)
    wired = codec.decode(codec.encode(p.run(pr, score_threshold=0.5)))
    _same_arrays(wired, eager)
    assert (painted(p.run(pr, score_threshold=0.5)).paint(0.1) == painted(eager).paint(0.1)).all()



def test_a_project_with_few_of_the_models_classes_decodes_only_what_it_shows(datasets, decodes):
    """The seed's 80 COCO classes mapped by name onto a project that has only person (instance and semantic
    projects): the masks shown are decoded, the rest waits, and the layers equal the eager result's."""
    from maskwork.core.domain.annotation import ClassInfo, ClassList
    from maskwork.core.models.cross_task import fit_result

    p = _predictor(SEED)
    project = ClassList([ClassInfo(0, "background", "#000000"), ClassInfo(1, "person", "#FF0000")])
    for pr in _prepared(p, datasets, ["000000005001.jpg", "000000166918.jpg"]):
        eager = p.run(pr, score_threshold=0.0)
        for task in ("instance", "semantic"):
            lazy = p.run(pr, score_threshold=0.5)
            decodes.clear()
            got, _ = fit_result(lazy, project, task)
            want, _ = fit_result(eager, project, task)
            a, b = got.to_layer(0.5), want.to_layer(0.5)
            if task == "semantic":
                assert np.array_equal(a.label_map, b.label_map) and (a.label_map == 1).any()
            else:
                assert [(i.class_id, i.mask) for i in a.instances] == [(i.class_id, i.mask) for i in b.instances]
                assert a.instances
            assert decodes == []  # the people shown were decoded by the run; nothing else was
            _same_arrays(got, want)  # reading the arrays decodes the rest: the same answers
