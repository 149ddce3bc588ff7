"""`--engine ray` without Ray, flags in the wrong place, and the pieces of the Ray engine that need no
cluster: the progress log (torn records), results on the wire (exact round trip)."""
from __future__ import annotations

import sys

import numpy as np

from maskwork.core.annotation import ClassList
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
    from maskwork.core.masks import Mask
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
