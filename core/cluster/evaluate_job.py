"""`evaluate --engine ray`: the single-process summary, from per-image scores computed by Ray actors.

Actors return one image's confusion counts (semantic) or its ground truth and detections as COCO
records (instance); the driver sums the counts / gathers the records in image order and builds the
table with the same functions as core.training.evaluate, so both engines give the same summary.
An image that cannot be read is reported and left out (the summary says how many were scored).
"""
from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

from maskwork.core.cluster import require_ray
from maskwork.core.cluster.engine import Task
from maskwork.core.cluster.options import pool_settings
from maskwork.core.training.evaluate import EvalTable


def evaluate_on_ray(args) -> EvalTable:
    settings = pool_settings(args)
    require_ray()
    from maskwork.core.cluster.shipping import pack
    from maskwork.core.training import evaluate as ev_mod

    data = str(Path(args.data).resolve())  # the actors open it themselves, from another working directory
    ev = ev_mod.prepare(args.model, data, "cpu", args.max_images, args.only, args.int8,
                        calibration=args.calibration)
    parcel = pack(ev.predictor, ev.float_model)
    tasks = [Task(i, it.name, it.name) for i, it in enumerate(ev.items)]
    n = ev.num_classes
    scores: dict[int, Any] = {}  # confusion counts (semantic) or (gt records, detections) (instance)
    errors: list = []

    def on_batch(rows) -> None:
        for task, error, payload in rows:
            if error:
                errors.append((task, error))
            else:
                scores[task.index] = pickle.loads(payload)

    options = {"device": settings.device, "threads": settings.threads_per_worker, "data": data,
               "num_classes": n}
    outcome = _run(settings, parcel, tasks, options, on_batch, args.model)
    for task, why in errors:
        print(f"skipped {task.name}: {why}", file=sys.stderr)
    order = sorted(scores)
    print(f"scored {outcome.describe(len(order))}", file=sys.stderr)
    if ev.task == "semantic":
        total = np.zeros((n, n), np.int64)
        rows = []
        for i in order:
            total += scores[i]
            if args.per_image:
                rows.append(ev_mod.semantic_row(tasks[i].name, scores[i], ev.data.ignore_index))
        table = ev_mod.semantic_table(ev, len(order), total, rows)
    else:
        table = ev_mod.instance_table(ev, [scores[i][0] for i in order], [scores[i][1] for i in order],
                                      args.per_image)
    if errors:
        table.summary["skipped_images"] = len(errors)
    return table


def _run(settings, parcel, tasks, options, on_batch, label: str):
    from maskwork.core.cluster.actors import EvaluateActor
    from maskwork.core.cluster.engine import actor_stage, stream
    from maskwork.core.cluster.progress import RateProgress
    from maskwork.core.cluster.session import describe_pool, pool_size, ray_session

    with ray_session(settings) as ray:
        workers = pool_size(ray, settings, len(tasks))
        ref = ray.put(parcel)
        print(f"ray: {describe_pool(ray, workers, settings)}; "
              f"{len(tasks)} images", file=sys.stderr)

        stage = actor_stage(ray, EvaluateActor, ref, options, settings, workers)
        return stream(ray, tasks, stage, on_batch, RateProgress(f"evaluate {label}"), settings)
