"""`compare --engine ray` on a local Ray instance (2 CPUs): the actors' predictions fill the same per-model,
per-image cache as one process, and the comparison is the local engine's, on real nuclei images."""
from __future__ import annotations

import json

import pytest

from tests.unit.cluster_fixtures import cli

RAY = ("--engine", "ray", "--workers", "2", "--threads-per-worker", "1", "--batch-size", "1")
# int8 Mask R-CNN rounds a few scores differently with another number of torch threads (in one process too):
# the actor gets this process's 2 threads (shipped_models sets MASKWORK_THREADS=2), so the numbers must be equal
RAY_AS_HERE = ("--engine", "ray", "--workers", "1", "--threads-per-worker", "2", "--batch-size", "1")
IMAGES = 3


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("MASKWORK_CACHE_DIR", str(folder))
    return folder


def test_ray_fills_the_cache_the_local_engine_reads_and_the_table_is_the_same(local_ray, shipped_models, nuclei_val,
                                                                             cache, capsys):
    from maskwork.core.comparison.compare import compare_models
    from maskwork.core.comparison.scores import as_dict

    rc, out, err = cli(capsys, "compare", *RAY_AS_HERE, "--a", "nuclei-instance", "--int8", "--data", nuclei_val,
                       "--max-images", IMAGES, "--json")
    assert rc == 0, err
    assert "ray: 1 worker x 2 threads" in err and f"{2 * IMAGES} predictions" in err  # made by the actors
    on_ray = json.loads(out)
    assert on_ray["cost"]["cache_hits"] == [0, 0]
    local, _, _ = compare_models("nuclei-instance", "nuclei-instance", str(nuclei_val), int8_b=True,
                                 max_images=IMAGES, cache_dir=None)
    mine = as_dict(local)
    for key in ("overall", "per_class", "a", "b", "task"):
        assert on_ray[key] == json.loads(json.dumps(mine[key], default=str)), key
    rows = {r["image"]: r for r in on_ray["images"]}
    for r in mine["images"]:
        assert (rows[r["image"]]["a"], rows[r["image"]]["b"]) == (r["a"], r["b"])  # per-image mask AP
        assert rows[r["image"]]["disagreement"] == r["disagreement"]
    assert local.rows[0].a is not None and len(rows) == IMAGES
    # the same command in one process finds every prediction the actors made in the cache
    rc, out, err = cli(capsys, "compare", "--a", "nuclei-instance", "--int8", "--data", nuclei_val,
                       "--max-images", IMAGES, "--json")
    assert rc == 0, err
    again = json.loads(out)
    assert again["cost"]["cache_hits"] == [IMAGES, IMAGES] and again["overall"] == on_ray["overall"]


def test_an_image_the_workers_cannot_read_is_left_out_and_named(local_ray, shipped_models, aerial_dir, tmp_path,
                                                               capsys):
    import shutil

    folder = tmp_path / "tiles"
    folder.mkdir()
    for name in ("tile1_001", "tile5_001"):
        shutil.copy(aerial_dir / "images" / f"{name}.jpg", folder / f"{name}.jpg")
    (folder / "tile1_001.jpg").write_bytes((folder / "tile1_001.jpg").read_bytes()[:3000])
    rc, out, err = cli(capsys, "compare", *RAY, "--a", "aerial-landcover", "--b", "aerial-landcover", "--data", folder,
                       "--no-cache", "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert [r["image"] for r in doc["images"]] == ["tile5_001.jpg"]
    assert any("1 image left out" in n and "tile1_001.jpg" in n for n in doc["notes"])


@pytest.mark.parametrize("argv,says", [
    (("--workers", "2"), "--workers only apply with --engine ray"),
    (("--engine", "ray", "--workers", "0"), "--workers 0: give at least 1 worker."),
    (("--engine", "ray", "--device", "cuda"), "with --engine ray the workers' devices come from --gpus-per-worker"),
    (("--limit", "0"), "--limit 0: give 1 or more"),
])
def test_wrong_engine_flags_are_refused_in_one_sentence(argv, says, nuclei_val, capsys):
    rc, _, err = cli(capsys, "compare", "--a", "nuclei-instance", "--int8", "--data", nuclei_val, *argv)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and says in lines[0], err
