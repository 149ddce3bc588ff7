"""`evaluate --engine ray` on a local Ray instance (2 CPUs) gives the single-process summary, per-image
rows included, on real labelled data: nuclei val (semantic and instance) and an aerial tile."""
from __future__ import annotations

import json

from tests.unit.cluster_fixtures import bundled, cli, local_ray  # noqa: F401

RAY = ("--engine", "ray", "--workers", "2", "--threads-per-worker", "1", "--batch-size", "2")


def _both(capsys, *argv):
    rc, local, err = cli(capsys, "evaluate", *argv, "--json", "--per-image")
    assert rc == 0, err
    rc, ray_out, err = cli(capsys, "evaluate", *RAY, *argv, "--json", "--per-image")
    assert rc == 0, err
    assert "ray: 2 workers x 1 thread" in err
    return json.loads(local), json.loads(ray_out)


def test_semantic_summary_matches_on_nuclei(local_ray, bundled, nuclei_val, capsys):
    local, ray_table = _both(capsys, "--model", "nuclei-semantic", "--data", nuclei_val, "--max-images", "8")
    assert local["summary"]["images"] == 8 and len(local["per_image"]) == 8
    assert ray_table == local  # confusion counts, IoUs, per-image rows: all equal


def test_semantic_summary_matches_on_an_aerial_tile(local_ray, bundled, aerial_dir, capsys):
    local, ray_table = _both(capsys, "--model", "aerial-landcover", "--data", aerial_dir, "--only", "tile7_",
                             "--max-images", "3")
    assert local["summary"]["images"] == 3
    assert ray_table == local


def test_instance_summary_matches_on_nuclei(local_ray, bundled, nuclei_val, capsys):
    local, ray_table = _both(capsys, "--model", "nuclei-instance", "--data", nuclei_val, "--max-images", "6")
    assert local["summary"]["detections"] > 100
    assert ray_table["summary"] == local["summary"] and ray_table["per_image"] == local["per_image"]
