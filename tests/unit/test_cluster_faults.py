"""Faults of `predict --engine ray` on real images: an actor killed with ray.kill, a worker process
SIGKILLed, Ctrl-C. Every image ends up predicted exactly once, as the single-process command does it,
and what was written before a stop stays valid for the rerun that finishes the job."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from tests.unit.cluster_fixtures import cli, copy_images, nuclei_images, read_ledger, same_pngs

COUNT = 12
RAY = ("--engine", "ray", "--workers", "2", "--threads-per-worker", "1", "--batch-size", "2")
LOG = ".maskwork-predict.progress"


@pytest.fixture(scope="module")
def reference(nuclei_val, tmp_path_factory):
    """12 real nuclei images and the single-process command's label PNGs of them."""
    from maskwork.core.cli import run

    folder = tmp_path_factory.mktemp("faults")
    images = copy_images(nuclei_images(nuclei_val, COUNT), folder / "images")
    env = {"MASKWORK_OFFLINE": "1", "MASKWORK_THREADS": "2"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        assert run(["predict", "--model", "nuclei-semantic", "--out", str(folder / "local"), str(images)]) == 0
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return images, folder / "local"


def _when_written(log, count: int, action) -> threading.Thread:
    """Run `action` once the progress log holds `count` images (the run is then well under way)."""
    from maskwork.core.store.edit_log import read_log

    def watch():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if log.is_file() and len(read_log(log)[0]) - 1 >= count:  # mid-append: the torn record is left out
                action()
                return
            time.sleep(0.02)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _recording_actors(monkeypatch, ray):
    """PredictActor that also hands its handle and pid to a named registry actor (test-only subclass)."""
    from maskwork.core.cluster import actors

    @ray.remote(num_cpus=0)
    class Registry:
        def __init__(self):
            self.seen = []

        def add(self, handle, pid):
            self.seen.append((handle, pid))

        def all(self):
            return self.seen

    registry = Registry.options(name="maskwork-test-registry").remote()

    class Recorded(actors.PredictActor):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            import os as _os

            import ray as _ray
            found = _ray.get_actor("maskwork-test-registry")
            _ray.get(found.add.remote(_ray.get_runtime_context().current_actor, _os.getpid()))

    monkeypatch.setattr(actors, "PredictActor", Recorded)
    return registry


def _exactly_once(out, images, reference_pngs):
    names = [r["name"] for r in read_ledger(out / LOG)]
    assert sorted(names) == sorted(p.name for p in images.iterdir())  # each image once: no loss, no repeat
    assert len(list(out.glob("*.png"))) == COUNT
    assert same_pngs(reference_pngs, out) == []


def test_actor_killed_by_ray_kill_has_its_images_retried(local_ray, shipped_models, reference, tmp_path, capsys,
                                                         monkeypatch):
    images, reference_pngs = reference
    registry = _recording_actors(monkeypatch, local_ray)
    out = tmp_path / "out"
    killed = []

    def kill():
        handle, pid = local_ray.get(registry.all.remote())[0]
        local_ray.kill(handle)  # for good: Ray Data does not restart it, Maskwork starts a fresh pool
        killed.append(pid)

    watcher = _when_written(out / LOG, 2, kill)
    rc, _, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--out", out, images)
    watcher.join(5)
    assert killed and rc == 0, err
    assert "a worker was lost (ActorDiedError)" in err and "fresh pool" in err
    _exactly_once(out, images, reference_pngs)
    local_ray.kill(registry)


def test_worker_process_sigkilled_has_its_images_retried(local_ray, shipped_models, reference, tmp_path, capsys,
                                                         monkeypatch):
    images, reference_pngs = reference
    registry = _recording_actors(monkeypatch, local_ray)
    out = tmp_path / "out"
    killed = []

    def kill():
        _, pid = local_ray.get(registry.all.remote())[0]
        os.kill(pid, signal.SIGKILL)  # the worker process dies mid-task; Ray restarts the actor
        killed.append(pid)

    watcher = _when_written(out / LOG, 2, kill)
    rc, _, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--out", out, images)
    watcher.join(5)
    assert killed and rc == 0, err
    _exactly_once(out, images, reference_pngs)
    local_ray.kill(registry)


def test_ctrl_c_stops_cleanly_and_the_rerun_finishes(local_ray, shipped_models, reference, tmp_path, capsys):
    images, reference_pngs = reference
    out = tmp_path / "out"
    watcher = _when_written(out / LOG, 2, lambda: os.kill(os.getpid(), signal.SIGINT))
    rc, _, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--out", out, images)
    watcher.join(5)
    assert rc == 130, err
    assert "stopped at your request (Ctrl-C)" in err and "rerun the same command" in err
    done = read_ledger(out / LOG)  # intact, no torn record
    assert 2 <= len(done) < COUNT
    assert not [p for p in out.iterdir() if p.name.endswith(".mwtmp")]  # no half-written file left
    assert sorted(p.name for p in out.glob("*.png")) == sorted(f"{r['name'][:-4]}.png" for r in done)
    assert same_pngs(out, reference_pngs) == []  # what was written is complete and right

    rc, _, err = cli(capsys, "predict", *RAY, "--model", "nuclei-semantic", "--out", out, images)
    assert rc == 0, err
    assert f"{len(done)} of {COUNT} images were already predicted" in err
    _exactly_once(out, images, reference_pngs)
