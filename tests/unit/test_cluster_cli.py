"""`--engine ray` without Ray, flags in the wrong place, and the pieces of the Ray engine that need no
cluster: the progress log (torn records), results on the wire (exact round trip)."""
from __future__ import annotations

import sys

import numpy as np

from maskwork.core.domain.annotation import ClassList
from tests.unit.cluster_fixtures import cli


def test_without_ray_one_sentence_says_how_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as on a machine without it
    monkeypatch.setitem(sys.modules, "ray.data", None)
    for argv in (["predict", "--engine", "ray", "--model", "nuclei-semantic", "--out", tmp_path / "o", tmp_path],
                 ["evaluate", "--engine", "ray", "--model", "nuclei-semantic", "--data", tmp_path / "x.json"]):
        rc, out, err = cli(capsys, *argv)
        lines = err.strip().splitlines()
        assert rc == 2 and len(lines) == 1, err
        assert "--engine ray needs Ray, which is not installed here" in lines[0]
        assert "pip install 'maskwork[cluster]'" in lines[0] and lines[0].count(". ") == 0
    assert not (tmp_path / "o").exists()


def test_ray_flags_without_engine_ray_are_refused(tmp_path, capsys):
    rc, _, err = cli(capsys, "predict", "--workers", "4", "--model", "nuclei-semantic", "--out", tmp_path / "o",
                     tmp_path)
    assert rc == 2 and "--workers only apply with --engine ray" in err


def test_progress_log_keeps_intact_records_after_a_torn_one(tmp_path):
    from maskwork.core.cluster.ledger import Ledger

    log = Ledger(tmp_path / "p.progress")
    log.read()
    log.append([{"path": "/d/a.png", "key": "1"}, {"path": "/d/b.png", "key": "2"}])
    log.close()
    with open(log.path, "ab") as f:
        f.write(b"MW\x00\x00\x01\x00garbage")  # a process killed in the middle of an append
    again = Ledger(log.path)
    assert sorted(again.read()) == ["/d/a.png", "/d/b.png"] and again.torn
    again.append([{"path": "/d/c.png", "key": "3"}, {"path": "/d/a.png", "key": "4"}])  # later records win
    again.close()
    records = Ledger(log.path).read()
    assert sorted(records) == ["/d/a.png", "/d/b.png", "/d/c.png"] and records["/d/a.png"]["key"] == "4"


def test_results_cross_the_wire_unchanged(nuclei_val):
    from maskwork.core.cluster.codec import decode, encode
    from maskwork.core.domain.masks import Mask
    from maskwork.core.models.cross_task import PaintedInstances, components
    from maskwork.core.models.results import SemanticResult
    from maskwork.core.training.datasets import from_coco

    item = from_coco(nuclei_val, task="semantic").items[0]
    truth = item.label_map()
    classes = ClassList.from_names(["background", "nucleus"])
    semantic = SemanticResult(truth.astype(np.uint16) * 300, np.ones(truth.shape, np.float32), classes, 12.5)
    back = decode(encode(semantic))
    assert back.label_map.dtype == np.uint16 and (back.label_map == semantic.label_map).all()
    instances = components(SemanticResult(truth, np.ones(truth.shape, np.float32), classes))
    assert len(instances) > 10
    painted = PaintedInstances(instances.masks + [Mask.empty(instances.height, instances.width)],
                               np.vstack([instances.boxes, np.zeros((1, 4), np.float32)]),
                               np.append(instances.class_ids, 1), np.append(instances.scores, np.float32(0.3)),
                               classes, instances.height, instances.width, 3.0, 0.25)
    back = decode(encode(painted))
    assert type(back) is PaintedInstances and back.score_threshold == 0.25
    assert (back.paint() == painted.paint()).all() and (back.scores == painted.scores).all()
    for m, n in zip(back.masks, painted.masks):
        assert (m.x0, m.y0, m.crop.shape) == (n.x0, n.y0, n.crop.shape) and (m.crop == n.crop).all()


def test_an_image_that_fails_the_model_is_reported_and_the_batch_goes_on(nuclei_val, tmp_path, shipped_models):
    """The actor's loop, without Ray: an unreadable file and an image on which the model raises are
    reported at their own positions; every other image of the batch gets its result."""
    from maskwork.core.cluster.actors import PredictActor
    from maskwork.core.models.predict import Predictor
    from tests.unit.cluster_fixtures import nuclei_images

    real = Predictor("nuclei-semantic", device="cpu")
    images = nuclei_images(nuclei_val, 4)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")

    class FailsOnSecond:
        """The real model, except that its second forward pass raises."""
        task, classes, spec, calls = real.task, real.classes, real.spec, 0

        def prepare(self, image, where="image"):
            return real.prepare(image, where)

        def run(self, prepared, *args):
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("out of memory")
            return real.run(prepared, *args)

    from maskwork.core.store.images import read_image

    predictor = FailsOnSecond()
    actor = object.__new__(PredictActor)
    actor.predictor, actor.score_threshold, actor.mask_threshold = predictor, 0.5, 0.5
    got = list(actor._results([str(images[0]), str(images[1]), str(broken), str(images[2]), str(images[3])]))
    assert [pos for pos, _, _ in got] == [0, 1, 2, 3, 4]
    assert [bool(why) for _, _, why in got] == [False, True, True, False, False]
    assert "the model failed on this image (RuntimeError: out of memory)" in got[1][2]
    assert "broken.png" in got[2][2] and "not an image" in got[2][2]
    assert all(r.label_map.shape == read_image(p).shape[:2]
               for (_, r, _), p in zip([got[0], got[3], got[4]], [images[0], images[2], images[3]]))


def test_progress_shows_images_per_second_and_time_left(monkeypatch):
    import io

    from maskwork.core.cluster import progress as rate_progress

    now = [0.0]
    monkeypatch.setattr(rate_progress.time, "monotonic", lambda: now[0])
    out = io.StringIO()
    bar = rate_progress.RateProgress("predict", out)
    for t, done in ((100.0, 2), (101.0, 3), (104.0, 4), (110.0, 6)):  # first batch at 100 s, then 4 in 10 s
        now[0] = t
        bar(done, 10, "image.png")
    lines = out.getvalue().splitlines()
    assert lines[0] == "predict: 2/10 (20%) image.png"  # too early for a rate
    assert lines[-1] == "predict: 6/10 (60%) 0.4 img/s ETA 0:10"
