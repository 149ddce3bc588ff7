"""Connect to Ray (or start a local instance) for one command, and size the actor pool.

No --address: a local Ray instance on this machine, started for the command and stopped after it.
`--address auto`: the cluster this machine belongs to (`ray start`); `ray://HOST:10001`: Ray Client.
A Ray already initialised in this process (a test, a notebook) is used as it is and left running.
"""
from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass

from maskwork.core.cluster import require_ray
from maskwork.core.cluster.watchdog import Watchdog
from maskwork.core.domain.errors import InputError


@dataclass(frozen=True)
class PoolSettings:
    """How the work is spread: actors, torch threads and GPUs per actor, images per map call."""

    workers: int | None = None        # None: as many as the cluster's CPUs (or GPUs) allow
    threads_per_worker: int = 1
    gpus_per_worker: float = 0.0
    batch_size: int = 4
    address: str | None = None
    max_retries: int = 3              # fresh attempts after a worker was lost for good (ray.kill, node gone)

    def check(self) -> "PoolSettings":
        if self.workers is not None and self.workers < 1:
            raise InputError(f"--workers {self.workers}: give at least 1 worker.")
        if self.threads_per_worker < 1:
            raise InputError(f"--threads-per-worker {self.threads_per_worker}: give at least 1 thread.")
        if self.gpus_per_worker < 0:
            raise InputError(f"--gpus-per-worker {self.gpus_per_worker}: give 0 (CPU) or a positive share of a GPU.")
        if self.batch_size < 1:
            raise InputError(f"--batch-size {self.batch_size}: give at least 1 image per batch.")
        return self

    @property
    def device(self) -> str:
        return "cuda" if self.gpus_per_worker > 0 else "cpu"


@contextmanager
def ray_session(settings: PoolSettings):
    """Yield `ray`, connected; shut down afterwards only what this call started."""
    ray = require_ray()
    started, watchdog = False, None
    if not ray.is_initialized():
        kwargs = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": True}
        if settings.address:
            ray.init(address=settings.address, **kwargs)
        else:
            watchdog = Watchdog()  # the local instance ends with this process, even when it is SIGKILLed
            try:
                with _quiet("ray"):  # its notes on starting a private local instance are not the user's concern
                    ray.init(**local_instance(settings), **kwargs)
            except BaseException:
                watchdog.stop()
                raise
        started = True
    try:
        quiet_ray_data(ray)
        yield ray
    finally:
        if started:
            ray.shutdown()
        if watchdog is not None:
            watchdog.stop()


@contextmanager
def _quiet(name: str):
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def local_instance(settings: PoolSettings) -> dict:
    """ray.init options of the instance a command starts on this machine: room for the pool asked for,
    even beyond the cores (the user chose it), and workers at normal priority like the single-process
    command (Ray's default, niceness 15, would let every other program on the machine go first)."""
    want = (settings.workers or 0) * settings.threads_per_worker
    return {"num_cpus": max(os.cpu_count() or 1, want), "_system_config": {"worker_niceness": 0}}


def quiet_ray_data(ray) -> None:
    """Our own progress line replaces Ray Data's bars and per-run notes on the console (errors still show)."""
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)


def pool_size(ray, settings: PoolSettings, images: int) -> tuple[int, int]:
    """(fewest, most) actors: the number asked for, checked against the cluster, or all it can hold, and
    never more than there are batches of `images`. On a cluster given by --address, more than it holds
    now may be asked for: the pool grows as nodes join."""
    low, high = _pool_size(ray, settings)
    batches = max(1, -(-images // settings.batch_size))
    return min(low, batches), min(high, batches)


def _pool_size(ray, settings: PoolSettings) -> tuple[int, int]:
    resources = ray.cluster_resources()
    cpus, gpus = float(resources.get("CPU", 0)), float(resources.get("GPU", 0))
    fits_cpu = int(cpus // settings.threads_per_worker)
    fits = min(fits_cpu, int(gpus // settings.gpus_per_worker)) if settings.gpus_per_worker else fits_cpu
    if settings.gpus_per_worker and gpus == 0:
        raise InputError(f"--gpus-per-worker {settings.gpus_per_worker} but the Ray cluster has no GPUs; "
                         "leave the option out to run on CPUs.")
    if fits < 1:
        raise InputError(f"the Ray cluster ({cpus:g} CPUs, {gpus:g} GPUs) cannot hold one worker of "
                         f"{settings.threads_per_worker} CPU threads and {settings.gpus_per_worker:g} GPUs; "
                         "ask for fewer threads per worker or add nodes.")
    if settings.workers is None:
        return fits, fits
    if settings.workers > fits and settings.address:  # an autoscaler may add nodes
        print(f"note: {settings.workers} workers asked for, the Ray cluster holds {fits} now; the others start "
              "as nodes join (an autoscaler)", file=sys.stderr)
        return fits, settings.workers
    if settings.workers > fits:
        raise InputError(f"--workers {settings.workers} x {settings.threads_per_worker} threads"
                         f"{f' x {settings.gpus_per_worker:g} GPUs' if settings.gpus_per_worker else ''} do not "
                         f"fit the Ray cluster ({cpus:g} CPUs, {gpus:g} GPUs): at most {fits} workers fit.")
    return settings.workers, settings.workers


def _count(n, word: str) -> str:
    return f"{n:g} {word}{'' if n == 1 else 's'}"


def describe_pool(ray, workers: tuple[int, int], settings: PoolSettings) -> str:
    """`2 workers x 1 thread on 1 node, 2 CPUs`: printed when a run starts."""
    gpus = f" x {_count(settings.gpus_per_worker, 'GPU')}" if settings.gpus_per_worker else ""
    low, high = workers
    count = _count(high, "worker") if low == high else f"{low}-{high} workers"
    return (f"{count} x {_count(settings.threads_per_worker, 'thread')}{gpus} on "
            f"{describe_cluster(ray)}")


def describe_cluster(ray) -> str:
    r = ray.cluster_resources()
    nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
    gpus = f", {r.get('GPU', 0):g} GPUs" if r.get("GPU") else ""
    return f"{nodes} node{'s' if nodes != 1 else ''}, {r.get('CPU', 0):g} CPUs{gpus}"
