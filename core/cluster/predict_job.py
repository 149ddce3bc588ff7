"""`predict --engine ray`: the same outputs as the single-process command, from a pool of Ray actors.

    main.py predict --engine ray --model nuclei-instance --out preds.json IMAGES/
    main.py predict --engine ray --model nuclei-semantic --project FOLDER     (or --out FOLDER of a project)

The driver lists the images, loads the model once (int8 built here), skips images already done with
the same model and settings (core.cluster.run_key), streams the rest through the actors and writes
each batch as it arrives (core.cluster.writers). Unreadable images are reported and skipped.
"""
from __future__ import annotations

import sys
from pathlib import Path

from maskwork.core.cluster import require_ray
from maskwork.core.cluster.engine import Task
from maskwork.core.cluster.options import pool_settings
from maskwork.core.domain.annotation import PredictionInfo
from maskwork.core.domain.errors import Cancelled, InputError
from maskwork.core.domain.progress import TextProgress


def _is_project(folder: Path) -> bool:
    from maskwork.core.store.names import is_project

    return is_project(folder)


def _file_tasks(inputs: list[str]) -> list[Task]:
    from maskwork.core.cli.image_inputs import image_files

    seen: set[Path] = set()
    tasks: list[Task] = []
    for path, name in image_files(inputs):
        resolved = path.resolve()
        if resolved not in seen:  # the same file named twice is predicted once
            seen.add(resolved)
            tasks.append(Task(len(tasks), name, str(resolved)))
    return tasks


def load_model(model: str, int8: bool, calibration):
    """(predictor, its float torch module when int8) on the driver's CPU: what core.cluster.shipping packs."""
    from maskwork.core.models.int8.dispatch import int8_of
    from maskwork.core.models.predict import Predictor

    fp = Predictor(model, device="cpu", progress=TextProgress("weights"))
    if not int8:
        return fp, None
    return int8_of(fp, calibration, progress=TextProgress("int8")), getattr(fp, "model", None)


def predict_on_ray(args) -> int:
    settings = pool_settings(args)
    require_ray()  # before any model is loaded: one sentence when Ray is missing
    if args.out and not args.project and _is_project(Path(args.out)):
        args.project, args.out = args.out, None  # `--out PROJECT`: its prediction layers
    if args.project and args.out:
        raise InputError("give either --project (predictions stored in the project) or --out (files), not both.")
    if not args.project and (not args.out or not args.inputs):
        raise InputError("predict needs images and --out (files), or --project FOLDER (prediction layers).")
    if not 0.0 <= args.score_threshold <= 1.0:
        raise InputError(f"--score-threshold {args.score_threshold} is outside 0..1")
    if args.int8 and settings.gpus_per_worker:
        raise InputError("int8 models run on CPUs: drop --gpus-per-worker, or --int8 to run the float model on GPUs.")
    if args.project:
        return _into_project(args, settings)
    tasks = _file_tasks(args.inputs)
    predictor, float_model = load_model(args.model, args.int8, [t.path for t in tasks])
    info = PredictionInfo(predictor.spec.name, bool(predictor.int8), None, args.score_threshold)
    from maskwork.core.cluster import writers

    out = Path(args.out)
    writer = (writers.CocoWriter(out, predictor.classes, info) if predictor.task == "instance"
              else writers.PngWriter(out, predictor.classes, tasks))
    return _run(args, settings, tasks, predictor, float_model, writer, fit=None, kind=predictor.task)


def _into_project(args, settings) -> int:
    from maskwork.core.cli.predict_project import fit_project_classes, project_names
    from maskwork.core.cluster.writers import ProjectWriter
    from maskwork.core.store.project import Project

    project = Project.open(args.project, writer="main.py predict --engine ray")
    try:
        if not project.has_store:
            raise InputError(f"{project.root} is not a Maskwork project yet (no .maskwork folder); open it in the "
                             "app or `import` labels into it first, or use --out to write prediction files.")
        names = project_names(project, args.inputs)
        tasks = [Task(i, n, str(project.image_path(n))) for i, n in enumerate(names)]
        predictor, float_model = load_model(args.model, args.int8, [t.path for t in tasks])
        fit_project_classes(project, predictor, args.unknown_classes)
        info = PredictionInfo(predictor.spec.name, bool(predictor.int8), None, args.score_threshold)
        fit = (project.classes.to_list(), project.task)
        return _run(args, settings, tasks, predictor, float_model, ProjectWriter(project, info), fit, "project")
    finally:
        project.close()


def _run(args, settings, tasks, predictor, float_model, writer, fit, kind: str) -> int:
    from maskwork.core.cluster.run_key import image_key, run_key
    from maskwork.core.cluster.shipping import pack

    parcel = pack(predictor, float_model)
    del predictor, float_model  # the driver keeps only the bytes it ships
    run = run_key(parcel.fingerprint, {"score_threshold": args.score_threshold, "kind": kind,
                                       "mask_threshold": args.mask_threshold, "fit": fit})
    for t in tasks:
        t.key = image_key(run, t.path)
    try:
        done = writer.done(tasks)
        todo = [t for t in tasks if t.index not in done]
        if done:
            print(f"{len(done)} of {len(tasks)} images were already predicted with this model and these settings: "
                  "skipped", file=sys.stderr)
        errors: list = []
        try:
            outcome = _predict(settings, parcel, todo, writer, fit, args, errors) if todo else None
        finally:  # also when stopped: the images skipped so far are reported
            for task, why in errors:
                print(f"skipped {task.path}: {why}", file=sys.stderr)
        message = writer.finish(tasks)
    finally:
        writer.close()
    if outcome is not None:
        print(f"predicted {outcome.describe(outcome.handled - len(errors))}", file=sys.stderr)
    print(message)
    return 1 if errors else 0


def _predict(settings, parcel, todo, writer, fit, args, errors: list):
    from maskwork.core.cluster.actors import PredictActor
    from maskwork.core.cluster.codec import PAYLOADS
    from maskwork.core.cluster.engine import actor_stage, stream
    from maskwork.core.cluster.progress import RateProgress
    from maskwork.core.cluster.session import describe_pool, pool_size, ray_session

    options = {"device": settings.device, "threads": settings.threads_per_worker, "fit": fit,
               "score_threshold": args.score_threshold, "mask_threshold": args.mask_threshold,
               "payload": writer.PAYLOAD}
    decode = PAYLOADS[writer.PAYLOAD][1]
    written = [0]

    def on_batch(rows) -> None:
        results = []
        for task, error, payload in rows:
            if error:
                errors.append((task, error))
            else:
                results.append((task, decode(payload)))
        failed = writer.write(results)  # e.g. an image whose size changed since the project listed it
        errors.extend(failed)
        written[0] += len(results) - len(failed)

    with ray_session(settings) as ray:
        workers = pool_size(ray, settings, len(todo))
        ref = ray.put(parcel)
        print(f"ray: {describe_pool(ray, workers, settings)}; {len(todo)} images, model {parcel.spec.name} "
              f"({parcel.size_bytes / 1e6:.1f} MB shipped once)", file=sys.stderr)

        stage = actor_stage(ray, PredictActor, ref, options, settings, workers)
        try:
            return stream(ray, todo, stage, on_batch, RateProgress(args.model), settings)
        except Cancelled:
            raise Cancelled(f"stopped at your request (Ctrl-C): {written[0]} of {len(todo)} images were written "
                            "and stay valid; rerun the same command to do the rest (finished images are "
                            "skipped).") from None
