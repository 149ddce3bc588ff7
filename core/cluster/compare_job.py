"""`compare --engine ray`: both models' predictions of the images not in the cache, made by Ray actors.

The driver reads each image once for its cache key, as the local engine does (core.comparison.runs), and
takes what the cache holds; the rest goes, as (model, image) tasks, to a pool of actors that each hold both
models (shipped once, an int8 model built once on the driver, as for predict and evaluate) and open the
data themselves by name from its path (which must be shared with the workers). Each actor returns the
records core.comparison.runs.predict_one gives in one process; the driver puts them in the same per-model,
per-image cache and scores on its own, so both engines give the same table. An image an actor cannot
read is left out and named, as in one process.
"""
from __future__ import annotations

import pickle
import sys
from functools import partial
from pathlib import Path

from maskwork.core.cluster import require_ray
from maskwork.core.cluster.engine import Task
from maskwork.core.cluster.options import pool_settings
from maskwork.core.cluster.session import PoolSettings
from maskwork.core.comparison.cache import PredictionCache, image_key
from maskwork.core.comparison.runs import SideRun
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken, ProgressFn, check, report
from maskwork.core.training.evaluate import Evaluation


def ray_runner(args):
    """The runner compare_models takes, from the command's `--engine ray` flags (checked here, before any
    model is loaded: a wrong flag or a missing Ray is one sentence, not a traceback after minutes)."""
    settings = pool_settings(args)
    require_ray()
    data = Path(args.data).resolve()  # the actors open it themselves, from another working directory
    if not data.exists():
        raise InputError(f"--data {args.data} not found: give a Maskwork project, a COCO .json, a folder with "
                         "images/ and masks/, or a folder of images")
    return partial(predict_on_ray, data=str(data), settings=settings)


def predict_on_ray(evs: list[Evaluation], caches: list[PredictionCache], progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None, *, data: str, settings: PoolSettings) -> list[SideRun]:
    items = evs[0].items
    n = len(items)
    runs = [SideRun(ev.label, [{} for _ in items]) for ev in evs]
    keys: list[str | None] = [None] * n
    tasks: list[Task] = []
    names = [c.name for c in evs[0].data.classes]
    keep_any = any(c.folder is not None for c in caches)
    for i, item in enumerate(items):
        check(cancel)
        if keep_any:  # nothing kept, nothing to look up: the actors read the images
            try:
                keys[i] = image_key(item.image(), names)
            except InputError as exc:
                for run in runs:
                    run.predictions[i] = {"skipped": str(exc)}
                continue
        key = keys[i]
        for side, (cache, run) in enumerate(zip(caches, runs)):
            found = cache.get(key) if key is not None else None
            if found is None:
                tasks.append(Task(side * n + i, f"{'AB'[side]}: {item.name}", item.name))
            else:
                run.predictions[i] = found
                run.cache_hits += 1
    if tasks:
        _run_pool(evs, tasks, n, data, settings, runs, caches, keys, progress, cancel)
    return runs


def _run_pool(evs, tasks, n, data, settings, runs, caches, keys, progress, cancel) -> None:
    from maskwork.core.cluster.actors import CompareActor
    from maskwork.core.cluster.engine import actor_stage, stream
    from maskwork.core.cluster.session import describe_pool, pool_size, ray_session
    from maskwork.core.cluster.shipping import pack

    def on_batch(rows) -> None:
        check(cancel)
        for task, error, payload in rows:
            side, i = divmod(task.index, n)
            if error:
                runs[side].predictions[i] = {"skipped": error}
                continue
            found = pickle.loads(payload)
            runs[side].predictions[i] = found
            runs[side].predict_seconds += found["latency_ms"] / 1000  # the model's time on its actor
            if keys[i] is not None:
                caches[side].put(keys[i], found)

    parcels = [pack(ev.predictor, ev.float_model) for ev in evs]
    options = {"device": settings.device, "threads": settings.threads_per_worker, "data": data,
               "task": evs[0].task, "classes": evs[0].data.classes.to_list(), "images": n}
    with ray_session(settings) as ray:
        workers = pool_size(ray, settings, len(tasks))
        ref = ray.put(parcels)
        print(f"ray: {describe_pool(ray, workers, settings)}; {len(tasks)} predictions (model x image) not in "
              "the cache", file=sys.stderr)
        stage = actor_stage(ray, CompareActor, ref, options, settings, workers)
        outcome = stream(ray, tasks, stage, on_batch, partial(report, progress), settings)
    print(f"predicted {outcome.describe(len(tasks))}", file=sys.stderr)
