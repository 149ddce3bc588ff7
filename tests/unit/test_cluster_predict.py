"""`predict --engine ray` on a local Ray instance (2 CPUs): the same results as the single-process
command on real images (every mask pixel, scores within 1e-5), written as they arrive, resumable."""
from __future__ import annotations

import json
import os

import pytest

from tests.unit.cluster_fixtures import (assert_same_instances, bundled, cli, copy_images,  # noqa: F401
                                         local_ray, nuclei_images, read_ledger, same_pngs)

RAY = ("--engine", "ray", "--workers", "2", "--threads-per-worker", "1", "--batch-size", "2")


def test_semantic_pngs_match_single_process_and_bad_image_is_skipped(local_ray, bundled, nuclei_val, tmp_path,
                                                                      capsys):
    images = copy_images(nuclei_images(nuclei_val), tmp_path / "images")
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    local, ray_out = tmp_path / "local", tmp_path / "ray"
    rc, _, err = cli(capsys, "predict", "--model", "nuclei-semantic", "--out", local, images)
    assert rc == 1 and "skipped" in err and "broken.png" in err
    rc, out, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--out", ray_out, images)
    assert rc == 1, err  # like the single-process command: the unreadable image is reported, not fatal
    assert f"skipped {images / 'broken.png'}" in err and "not an image" in err
    assert sorted(p.name for p in ray_out.glob("*.png")) == sorted(p.name for p in local.glob("*.png"))
    assert len(list(ray_out.glob("*.png"))) == len(nuclei_images(nuclei_val))
    assert same_pngs(local, ray_out) == []
    assert (ray_out / "classes.json").read_text() == (local / "classes.json").read_text()
    records = read_ledger(ray_out / ".maskwork-predict.progress")
    assert sorted(r["name"] for r in records) == sorted(p.name for p in nuclei_images(nuclei_val))


def test_aerial_pngs_match_single_process(local_ray, bundled, aerial_dir, tmp_path, capsys):
    images = copy_images(sorted((aerial_dir / "images").glob("tile2_*.jpg"))[:3], tmp_path / "images")
    assert cli(capsys, "predict", "--model", "aerial-landcover", "--out", tmp_path / "local", images)[0] == 0
    rc, _, err = cli(capsys, "predict", *RAY, "--model", "aerial-landcover", "--out", tmp_path / "ray", images)
    assert rc == 0, err
    assert len(list((tmp_path / "ray").glob("*.png"))) == 3
    assert same_pngs(tmp_path / "local", tmp_path / "ray") == []


def test_instance_coco_matches_single_process(local_ray, bundled, nuclei_val, tmp_path, capsys):
    images = copy_images(nuclei_images(nuclei_val, 6), tmp_path / "images")
    assert cli(capsys, "predict", "--model", "nuclei-instance", "--out", tmp_path / "local.json", images)[0] == 0
    rc, out, err = cli(capsys, "predict", *RAY, "--model", "nuclei-instance", "--out", tmp_path / "ray.json", images)
    assert rc == 0, err
    assert "ray: 2 workers x 1 thread" in err and "predicted 6 images" in err
    assert_same_instances(json.loads((tmp_path / "local.json").read_text()),
                          json.loads((tmp_path / "ray.json").read_text()))


def _project(folder, images, task):
    from maskwork.core.annotation import ClassList
    from maskwork.core.project import Project

    copy_images(images, folder)
    Project.create(folder, ClassList.from_names(["background", "nucleus"]), task).close()
    return folder


def _predictions(folder):
    from maskwork.core.project import Project

    with Project.open(folder, read_only=True) as p:
        return {n: p.annotation(n) for n in p.image_names()}


def test_project_matches_single_process_and_rerun_resumes(local_ray, bundled, nuclei_val, tmp_path, capsys):
    images = nuclei_images(nuclei_val, 6)
    a = _project(tmp_path / "a", images, "semantic")
    b = _project(tmp_path / "b", images, "semantic")
    assert cli(capsys, "predict", "--model", "nuclei-semantic", "--project", a)[0] == 0
    rc, out, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--out", b)  # --out PROJECT works too
    assert rc == 0, err
    want, got = _predictions(a), _predictions(b)
    assert set(want) == set(got) and len(got) == 6
    for name, ann in got.items():
        assert (ann.prediction.label_map == want[name].prediction.label_map).all(), name
        assert ann.status == want[name].status and ann.prediction_info.model == "nuclei-semantic"
        assert ann.prediction_info.run_key  # the resume key is stored with each image
    stored = {n: os.stat(b / ".maskwork" / "annotations" / f"{n}.json").st_mtime_ns for n in got}

    rc, out, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--project", b)
    assert rc == 0 and "6 of 6 images were already predicted with this model and these settings" in err
    assert "ray:" not in err  # nothing left to do: no pool was started
    assert {n: os.stat(b / ".maskwork" / "annotations" / f"{n}.json").st_mtime_ns for n in got} == stored

    touched = sorted(got)[0]  # the image file changed: only it is predicted again
    os.utime(b / touched, ns=(os.stat(b / touched).st_atime_ns, os.stat(b / touched).st_mtime_ns + 10**9))
    rc, out, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--project", b)
    assert rc == 0 and "5 of 6 images were already predicted" in err and "predicted 1 images" in err
    changed = [n for n in got if os.stat(b / ".maskwork" / "annotations" / f"{n}.json").st_mtime_ns != stored[n]]
    assert changed == [touched]

    rc, out, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--project", b,
                       "--score-threshold", "0.6")  # other settings: everything is predicted again
    assert rc == 0 and "already predicted" not in err and "predicted 6 images" in err


def test_int8_model_is_built_once_and_matches_single_process(local_ray, bundled, nuclei_val, tmp_path, capsys):
    images = copy_images(nuclei_images(nuclei_val, 3), tmp_path / "images")
    assert cli(capsys, "predict", "--model", "nuclei-semantic", "--int8", "--out", tmp_path / "local", images)[0] == 0
    rc, _, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--int8", "--out", tmp_path / "ray",
                     images)
    assert rc == 0, err
    assert len(list((tmp_path / "ray").glob("*.png"))) == 3
    assert same_pngs(tmp_path / "local", tmp_path / "ray") == []
    # a float run is another model: nothing of the int8 run is reused
    rc, _, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--out", tmp_path / "ray", images)
    assert rc == 0 and "already predicted" not in err


@pytest.mark.parametrize("model", ["nuclei-semantic"])
def test_actor_pool_that_cannot_fit_says_so(local_ray, bundled, nuclei_val, tmp_path, capsys, model):
    images = copy_images(nuclei_images(nuclei_val, 1), tmp_path / "images")
    rc, _, err = cli(capsys, "predict", "--engine", "ray", "--workers", "3", "--model", model, "--out",
                     tmp_path / "out", images)
    assert rc == 2 and "--workers 3 x 1 threads do not fit the Ray cluster (2 CPUs, 0 GPUs): at most 2" in err
