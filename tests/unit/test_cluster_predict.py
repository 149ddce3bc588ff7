"""`predict` and `evaluate` with `--engine ray` on a local Ray instance (2 CPUs): the same results as the
single-process commands on real images (every mask pixel, scores within 1e-5, the same evaluate summary),
predictions written as they arrive and resumable."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.unit.cluster_fixtures import assert_same_instances, cli, copy_images, nuclei_images, read_ledger, same_pngs

RAY = ("--engine", "ray", "--workers", "2", "--threads-per-worker", "1", "--batch-size", "2")


def test_semantic_pngs_match_single_process_and_bad_image_is_skipped(local_ray, shipped_models, nuclei_val, tmp_path,
                                                                      capsys):
    originals = nuclei_images(nuclei_val)
    images = copy_images(originals, tmp_path / "images")
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    twin = copy_images(originals[:1], tmp_path / "other")  # another folder, the same file name
    local, ray_out = tmp_path / "local", tmp_path / "ray"
    rc, _, err = cli(capsys, "predict", "--model", "nuclei-semantic", "--out", local, images, twin)
    assert rc == 1 and "skipped" in err and "broken.png" in err
    rc, out, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--out", ray_out, images, twin)
    assert rc == 1, err  # like the single-process command: the unreadable image is reported, not fatal
    assert f"skipped {images / 'broken.png'}" in err and "not an image" in err
    assert sorted(p.name for p in ray_out.glob("*.png")) == sorted(p.name for p in local.glob("*.png"))
    assert len(list(ray_out.glob("*.png"))) == len(originals) + 1  # the twin is {stem}_2.png in both
    assert same_pngs(local, ray_out) == []
    assert (ray_out / "classes.json").read_text() == (local / "classes.json").read_text()
    records = read_ledger(ray_out / ".maskwork-predict.progress")
    assert sorted(r["path"] for r in records) == sorted(str(p) for p in [*images.glob("*.png"), *twin.iterdir()]
                                                        if p.name != "broken.png")


def test_aerial_pngs_match_single_process(local_ray, shipped_models, aerial_dir, tmp_path, capsys):
    images = copy_images(sorted((aerial_dir / "images").glob("tile2_*.jpg"))[:2], tmp_path / "images")
    assert cli(capsys, "predict", "--model", "aerial-landcover", "--out", tmp_path / "local", images)[0] == 0
    rc, _, err = cli(capsys, "predict", *RAY, "--model", "aerial-landcover", "--out", tmp_path / "ray", images)
    assert rc == 0, err
    assert len(list((tmp_path / "ray").glob("*.png"))) == 2
    assert same_pngs(tmp_path / "local", tmp_path / "ray") == []


def test_instance_coco_matches_single_process(local_ray, shipped_models, nuclei_val, tmp_path, capsys):
    images = copy_images(nuclei_images(nuclei_val, 4), tmp_path / "images")
    assert cli(capsys, "predict", "--model", "nuclei-instance", "--out", tmp_path / "local.json", images)[0] == 0
    rc, out, err = cli(capsys, "predict", *RAY, "--model", "nuclei-instance", "--out", tmp_path / "ray.json", images)
    assert rc == 0, err
    assert "ray: 2 workers x 1 thread" in err and "predicted 4 images" in err
    assert_same_instances(json.loads((tmp_path / "local.json").read_text()),
                          json.loads((tmp_path / "ray.json").read_text()))


def _project(folder, images, task):
    from maskwork.core.domain.annotation import ClassList
    from maskwork.core.store.project import Project

    copy_images(images, folder)
    Project.create(folder, ClassList.from_names(["background", "nucleus"]), task).close()
    return folder


def _predictions(folder):
    from maskwork.core.store.project import Project

    with Project.open(folder, read_only=True) as p:
        return {n: p.annotation(n) for n in p.image_names()}


def test_project_matches_single_process_and_rerun_resumes(local_ray, shipped_models, nuclei_val, tmp_path, capsys):
    """A semantic model on an instance project: one object per region, scored by its mean confidence (computed
    in the actor, where the confidence map is)."""
    images = nuclei_images(nuclei_val, 4)
    a = _project(tmp_path / "a", images, "instance")
    b = _project(tmp_path / "b", images, "instance")
    assert cli(capsys, "predict", "--model", "nuclei-semantic", "--project", a)[0] == 0
    rc, out, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--out", b)  # --out PROJECT works too
    assert rc == 0, err
    assert "note: nuclei-semantic is a semantic model and b an instance project" in err
    want, got = _predictions(a), _predictions(b)
    assert set(want) == set(got) and len(got) == 4
    for name, ann in got.items():
        mine, theirs = ann.prediction.instances, want[name].prediction.instances
        assert len(mine) == len(theirs) > 0, name
        for x, y in zip(mine, theirs):
            assert (x.mask.to_full() == y.mask.to_full()).all() and x.class_id == y.class_id
            assert abs(x.score - y.score) <= 1e-5
        assert ann.status == want[name].status and ann.prediction_info.model == "nuclei-semantic"
        assert ann.prediction_info.run_key  # the resume key is stored with each image
    stored = {n: os.stat(b / ".maskwork" / "annotations" / f"{n}.json").st_mtime_ns for n in got}

    rc, out, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--project", b)
    assert rc == 0 and "4 of 4 images were already predicted with this model and these settings" in err
    assert "ray:" not in err  # nothing left to do: no pool was started
    assert {n: os.stat(b / ".maskwork" / "annotations" / f"{n}.json").st_mtime_ns for n in got} == stored

    touched = sorted(got)[0]  # the image file changed: only it is predicted again
    os.utime(b / touched, ns=(os.stat(b / touched).st_atime_ns, os.stat(b / touched).st_mtime_ns + 10**9))
    rc, out, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--project", b)
    assert rc == 0 and "3 of 4 images were already predicted" in err and "predicted 1 images" in err
    changed = [n for n in got if os.stat(b / ".maskwork" / "annotations" / f"{n}.json").st_mtime_ns != stored[n]]
    assert changed == [touched]

    rc, out, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--project", b,
                       "--score-threshold", "0.6")  # other settings: everything is predicted again
    assert rc == 0 and "already predicted" not in err and "predicted 4 images" in err


def test_int8_model_is_built_once_and_matches_single_process(local_ray, shipped_models, nuclei_val, tmp_path, capsys):
    images = copy_images(nuclei_images(nuclei_val, 2), tmp_path / "images")
    assert cli(capsys, "predict", "--model", "nuclei-semantic", "--int8", "--out", tmp_path / "local", images)[0] == 0
    rc, _, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--int8", "--out", tmp_path / "ray",
                     images)
    assert rc == 0, err
    assert len(list((tmp_path / "ray").glob("*.png"))) == 2
    assert same_pngs(tmp_path / "local", tmp_path / "ray") == []


def test_a_registered_onnx_model_runs_on_the_workers(local_ray, shipped_models, coco_sample_val, tmp_path, capsys,
                                                     monkeypatch):
    """Your own ONNX file (the seed's YOLO11n-seg, int8), shipped as bytes: no worker needs the file."""
    yolo = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "yolo11n-seg-quantized.onnx"
    if not yolo.is_file():
        pytest.skip(f"the seed's YOLO model is not at {yolo}")
    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    assert cli(capsys, "models", "add", yolo, "--name", "yolo-mine")[0] == 0
    images = copy_images(sorted((Path(coco_sample_val).parent / "val2017").iterdir())[:3], tmp_path / "images")
    assert cli(capsys, "predict", "--model", "yolo-mine", "--out", tmp_path / "local.json", images)[0] == 0
    rc, _, err = cli(capsys, "predict", *RAY, "--model", "yolo-mine", "--out", tmp_path / "ray.json", images)
    assert rc == 0, err
    assert_same_instances(json.loads((tmp_path / "local.json").read_text()),
                          json.loads((tmp_path / "ray.json").read_text()))


def test_actor_pool_that_cannot_fit_says_so(local_ray, shipped_models, nuclei_val, tmp_path, capsys):
    images = copy_images(nuclei_images(nuclei_val, 1), tmp_path / "images")
    rc, _, err = cli(capsys, "predict", "--engine", "ray", "--workers", "3", "--model", "nuclei-semantic", "--out",
                     tmp_path / "out", images)
    assert rc == 2 and "--workers 3 x 1 threads do not fit the Ray cluster (2 CPUs, 0 GPUs): at most 2" in err


# ---- evaluate ----------------------------------------------------------------------------------
def _both(capsys, *argv):
    rc, local, err = cli(capsys, "evaluate", *argv, "--json", "--per-image")
    assert rc == 0, err
    rc, ray_out, err = cli(capsys, "evaluate", *RAY, *argv, "--json", "--per-image")
    assert rc == 0, err
    assert "ray: " in err and "scored " in err  # on the actors, not in this process
    return json.loads(local), json.loads(ray_out)


def test_semantic_summary_matches_on_nuclei(local_ray, shipped_models, nuclei_val, capsys):
    local, ray_table = _both(capsys, "--model", "nuclei-semantic", "--data", nuclei_val, "--max-images", "8")
    assert local["summary"]["images"] == 8 and len(local["per_image"]) == 8
    assert ray_table == local  # confusion counts, IoUs, per-image rows: all equal


def test_semantic_summary_matches_on_an_aerial_tile(local_ray, shipped_models, aerial_dir, capsys):
    local, ray_table = _both(capsys, "--model", "aerial-landcover", "--data", aerial_dir, "--only", "tile7_",
                             "--max-images", "2")
    assert local["summary"]["images"] == 2
    assert ray_table == local


def test_instance_summary_matches_on_nuclei(local_ray, shipped_models, nuclei_val, capsys):
    local, ray_table = _both(capsys, "--model", "nuclei-instance", "--data", nuclei_val, "--max-images", "4")
    assert local["summary"]["detections"] > 100
    assert ray_table["summary"] == local["summary"] and ray_table["per_image"] == local["per_image"]
