"""Does training on corrected images help? (issue 23) The loop a user runs, measured: k images of a set the
bundled model never trained on are taken as "corrected", the bundled model is fine-tuned on them with the
defaults a user gets (core.training.schedule.settings, the dialog's held-out images), and both the bundled
model and the kept model are scored on the rest of the set.

    python bench/bench_training_loop.py                       # k = 5, 10, 20; seeds 0, 1, 2; all three sets
    python bench/bench_training_loop.py --quick --sets nuclei-instance nuclei-semantic   # k = 10, seed 0, reduced
    python bench/bench_training_loop.py --sets nuclei-instance --k 10 --seeds 0 --epochs 3 --score-images 40
    python bench/bench_training_loop.py --quick --sets nuclei-semantic --variant train-bn   # one default changed

Sets: nuclei-instance and nuclei-semantic take the corrected images from nuclei val.json (the bundled nuclei models
were trained on train.json; the first val images, on which their best epoch was picked, are left out); aerial-tile7
takes them from tile7, the area aerial-landcover never trained on (9 images: k up to 5 leaves 4 to score), the case
of a user's images unlike the training data; aerial-landcover takes whole tiles (images of one tile look alike),
shuffled by the seed, until k images, and scores the other tiles - the bundled model saw all tiles but tile7 in
training, so its "before" there is flattered (said in the output). The budget is fixed in steps (epochs x batches of
the schedule), never in wall-clock time. --quick: k = 10, seed 0, at most 3 epochs, 40 scored images. Besides the
kept model ("after") the last trained epoch is scored too ("last"): what keeping the start model saved or cost.
--variant changes one default (VARIANTS) to see what it matters; `--variant guard` keeps an epoch only if it also
does not fall on 16 of the bundled model's training images outside its replay set (TrainConfig.guard).
--score-epochs scores every epoch on the scored images and writes them with the held-out and guard scores to the
json ("epochs"), so what any acceptance rule would have kept can be read from one training (bench/training_rules.py).
Prints one line per run and a before/after table per set and k (mean and spread over the seeds); --json writes
all runs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets"
MODELS = ROOT / "resources" / "models"

import torch  # noqa: E402

from maskwork.core.training import instance as inst  # noqa: E402
from maskwork.core.training import semantic as sem  # noqa: E402
from maskwork.core.training.datasets import from_coco, from_png_folder, held_out_names, select  # noqa: E402
from maskwork.core.training.loop import TrainConfig, train  # noqa: E402
from maskwork.core.training.runner import CheckpointRunner  # noqa: E402
from maskwork.core.training.schedule import settings  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "maskwork-bench-training"  # the start model's per-image scores

VAL_SHARE = 0.2  # the train dialog's default validation share
# --variant: one default changed (TrainConfig fields)
VARIANTS = {"defaults": {}, "train-bn": {"freeze_bn": False}, "lr-1e-4": {"lr": 1e-4}, "lr-1e-3": {"lr": 1e-3},
            "lr-0": {"lr": 0.0, "keep_start": False}, "lr-5e-5": {"lr": 5e-5}, "replay-only": {"replay_share": 1.0},
            "lr-2e-5": {"lr": 2e-5}, "lr-1e-5": {"lr": 1e-5}, "lr-2.5e-4": {"lr": 2.5e-4}, "lr-5e-4": {"lr": 5e-4},
            # the schedules before these defaults (lr 5e-4 semantic, 2.5e-4 instance; crop 256, batch 4; no replay)
            "before-sem": {"lr": 5e-4, "crop": 256, "batch_size": 4, "epochs": 8, "min_steps": 25,
                           "replay_share": 0.0},
            "before-inst": {"lr": 2.5e-4, "epochs": 6, "min_steps": 25, "replay_share": 0.0},
            "min-size-512": {"min_size": 512}, "old-cli": {"lr": 1e-3, "min_size": 512, "freeze_bn": False},
            "no-replay": {"replay_share": 0.0}, "replay-0.5": {"replay_share": 0.5},
            "replay-0.75": {"replay_share": 0.75},
            "heads-only": {"freeze": ("backbone.",)}, "frozen-resnet": {"freeze": ("backbone.body.",)},
            "frozen-encoder": {"freeze": ("down.",)}, "frozen-stem": {"freeze": ("down.0.",)},
            "crop-160": {"crop": 160, "batch_size": 6}, "crop-128": {"crop": 128, "batch_size": 8},
            "crop-256-b2": {"crop": 256, "batch_size": 2}, "crop-256-b4": {"crop": 256, "batch_size": 4},
            # a stricter acceptance: an epoch is kept only if it also does not fall on 16 of the bundled model's
            # training images outside the replay set (TrainConfig.guard; guard_images is this bench's, GUARD_SEED)
            "guard": {"guard_images": 16, "guard_tolerance": 0.0}, "no-guard": {"guard": None},
            # BatchNorm trains; statistics: the start model's, moved by the weight change (core/training/batchnorm.py)
            "bn-shift": {"freeze_bn": False, "bn_stats": "shift"},
            # no decision offsets tuned for mean IoU before each score (core/training/calibrate.py)
            "no-calibrate": {"calibrate_images": 0},
            # the replay drawn by this bench from the bundled model's training file (--replay-images of them)
            "bench-replay": {"replay": None},
            # SGD with momentum: steps in proportion to the gradient (AdamW's first steps move every weight by ~lr)
            **{f"sgd-{lr}": {"optimizer": "sgd", "lr": float(lr)}
               for lr in ("3e-5", "1e-4", "3e-4", "1e-3", "3e-3", "1e-2", "3e-2")}}
GUARD_SEED = 777
# The bundled model's best epoch was picked on the first N images of the set (tools/train_bundled.py max_val_images):
# scoring on them flatters the start model (any change moves it away from a point chosen on them), so they are left
# out of the draw and of the scored images.
SELECTED_ON = {"nuclei-instance": 10, "nuclei-semantic": 20}
# the data each bundled model was trained on (its model card): what a fine-tune may replay
TRAINED_ON = {"nuclei-instance": DATA / "nuclei" / "train.json", "nuclei-semantic": DATA / "nuclei" / "train.json"}

# set -> (task, arch, loader of the pool, unit of the draw: "image" or "tile")
SETS = {
    "nuclei-instance": ("instance", "maskrcnn_resnet18_lite",
                        lambda: from_coco(DATA / "nuclei" / "val.json", task="instance"), "image"),
    "nuclei-semantic": ("semantic", "unet_small",
                        lambda: from_coco(DATA / "nuclei" / "val.json", task="semantic"), "image"),
    "aerial-landcover": ("semantic", "unet_small", lambda: from_png_folder(DATA / "aerial"), "tile"),
    # the one tile aerial-landcover never trained on (its validation tile): a user's images of a new area
    "aerial-tile7": ("semantic", "unet_small", lambda: _tile(from_png_folder(DATA / "aerial"), "tile7_"), "image"),
}
SET_MODEL = {"aerial-tile7": "aerial-landcover"}  # set -> the bundled model it fine-tunes (default: the set's name)


def _tile(data, prefix: str):
    return select(data, [it.name for it in data.items if it.name.startswith(prefix)])


def draw(names: list[str], k: int, seed: int, unit: str) -> list[str]:
    """k names: random images, or whole tiles (name prefix before '_') in random order until k images."""
    rng = random.Random(seed)
    if unit == "image":
        return sorted(rng.sample(names, k))
    tiles = sorted({n.split("_")[0] for n in names})
    rng.shuffle(tiles)
    chosen: list[str] = []
    for tile in tiles:
        chosen += sorted(n for n in names if n.split("_")[0] == tile)
        if len(chosen) >= k:
            break
    return chosen[:k]


def per_image(checkpoint: str | Path, items, task: str) -> dict:
    """name -> what scoring needs of one image: (instance) COCO detection records, (semantic) the confusion
    matrix; the predictor is the checkpoint's own (CheckpointRunner: its recorded input size, detection cap)."""
    runner = CheckpointRunner(checkpoint)
    out = {}
    for it in items:
        if task == "instance":
            inst.set_train_mode(runner.model, False, int(runner.input.get("min_size", 512)),
                                int(runner.input.get("max_size", 1024)))
            pred = inst.predict(runner.model, it.image(), "cpu")
            masks = (pred["masks"][:, 0] > 0.5).numpy()
            out[it.name] = inst.detections(0, masks, pred["scores"].tolist(), pred["labels"].tolist())
        else:
            runner.model.eval()
            label = sem.predict_label_map(runner.model, it.image(), int(runner.input.get("tile", 512)), "cpu",
                                          float(runner.input.get("scale", 1.0)))
            out[it.name] = sem.confusion(it.label_map(), label, max(runner.classes.ids()) + 1)
    return out


def aggregate(images: dict, data, task: str) -> dict:
    """The metrics over data's items (instance: COCO mask AP at the loop's detection cap; semantic: mean IoU)."""
    if task == "instance":
        records = [inst.gt_records(i, it) for i, it in enumerate(data.items, start=1)]
        gt, _ = inst.gt_document(records, data.classes)
        dets = [dict(d, image_id=i) for i, it in enumerate(data.items, start=1) for d in images[it.name]]
        s = inst.coco_mask_ap(gt, dets)
        return {"ap": s["ap"], "ap50": s["ap50"], "ap75": s["ap75"]}
    conf = sum(images[it.name] for it in data.items)
    return {"miou": sem.iou_from_confusion(conf, data.ignore_index)["miou"]}


def score(checkpoint: str | Path, data, task: str) -> dict:
    """The metrics of a checkpoint on data."""
    return aggregate(per_image(checkpoint, data.items, task), data, task)


def start_images(name: str, checkpoint: Path, data, task: str) -> dict:
    """per_image of the start model on the whole pool, cached by the checkpoint's bytes (computed once per set)."""
    digest = hashlib.sha1(checkpoint.read_bytes()).hexdigest()[:12]
    path = CACHE / f"{name}-{digest}.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    images = per_image(checkpoint, data.items, task)
    CACHE.mkdir(exist_ok=True)
    tmp = path.with_suffix(f".{time.monotonic_ns()}.tmp")
    tmp.write_bytes(pickle.dumps(images))
    tmp.replace(path)
    return images


def replay_data(name: str, task: str, n: int):
    """n images of the bundled model's own training data (a fixed draw), or None when it is not known."""
    if n <= 0 or name not in TRAINED_ON:
        return None
    pool = from_coco(TRAINED_ON[name], task=task)
    names = [it.name for it in pool.items if has_objects(it, task)]
    return select(pool, random.Random(12345).sample(names, min(n, len(names))))


def guard_data(name: str, task: str, n: int, replay):
    """n of the bundled model's training images that are not in its replay set (a fixed draw), or None."""
    if n <= 0 or name not in TRAINED_ON:
        return None
    pool = from_coco(TRAINED_ON[name], task=task)
    replayed = set() if replay is None else {it.name for it in (replay if hasattr(replay, "items")
                                                                  else from_coco(replay, task=task)).items}
    names = [it.name for it in pool.items if has_objects(it, task) and it.name not in replayed]
    return select(pool, random.Random(GUARD_SEED).sample(names, min(n, len(names))))


def one_run(name: str, k: int, seed: int, epochs: int | None, min_steps: int | None, score_images: int | None,
            workdir: Path,
            variants: tuple = ("defaults",), score_last: bool = True, replay_images: int = 48,
            score_epochs: bool = False) -> dict:
    task, arch, load, unit = SETS[name]
    pool = load()
    chosen_on = {it.name for it in pool.items[:SELECTED_ON.get(name, 0)]}
    names = [it.name for it in pool.items if has_objects(it, task) and it.name not in chosen_on]
    corrected = draw(names, k, seed, unit)
    rest = [n for n in names if n not in set(corrected)]
    if score_images:
        rest = rest[:score_images]
    start = MODELS / f"{SET_MODEL.get(name, name)}.pt"
    plan = settings(task, str(start), epochs=epochs, min_steps=min_steps)
    for variant in variants:
        plan.update(VARIANTS[variant])
    if plan.get("replay_share") and not plan.get("replay"):  # a variant's replay: a draw of the training data
        plan["replay"] = replay_data(name, task, replay_images)
    guard_n = int(plan.pop("guard_images", 0))
    if guard_n:
        plan["guard"] = guard_data(name, task, guard_n, plan.get("replay"))
    out = workdir / f"{name}-k{k}-s{seed}.pt"
    cfg = TrainConfig(arch=arch, data=select(pool, corrected), val_names=held_out_names(corrected, VAL_SHARE),
                      out=str(out), init=str(start), seed=seed, device="cpu", threads=1,
                      command="bench_training_loop", **plan)
    start_scores = start_images(name, start, pool, task)

    def on_epoch(r: dict) -> None:
        guard = "" if r.get("guard") is None else f", guard {r['guard']:.3f}"
        guard += " (falls: not kept)" if r.get("guarded") else ""
        print(f"  {name} k={k} seed={seed} epoch {r['epoch']}: {r['metric']} {r['value']:.3f} on the held-out "
              f"images{guard}", file=sys.stderr, flush=True)
        if score_epochs and r["epoch"] > 0:  # every epoch's weights, to score each (any acceptance rule, offline)
            (workdir / f"epoch{r['epoch']}.pt").write_bytes(cfg.last_path().read_bytes())

    t0 = time.monotonic()
    result = train(cfg, on_epoch=on_epoch)
    seconds = time.monotonic() - t0
    scored = select(pool, rest)
    before = aggregate(start_scores, scored, task)
    epochs_scored = {}
    if score_epochs:
        epochs_scored = {e: score(workdir / f"epoch{e}.pt", scored, task) for e in range(1, result.epochs_done + 1)}
        after = epochs_scored[result.best_epoch] if result.improved else before
        last = epochs_scored[result.epochs_done] if score_last else None
    else:
        after = before if not result.improved else score(out, scored, task)  # the kept file is the start model
        last = score(cfg.last_path(), scored, task) if score_last else None
    n_train = len(corrected) - len(cfg.val_names or [])
    steps = cfg.epochs * (cfg.steps_per_epoch or max(1, cfg.min_steps, -(-n_train // cfg.batch_size)))
    return {"set": name, "variant": "+".join(variants), "k": k, "seed": seed, "scored_images": len(rest),
            "corrected": corrected, "steps": steps,
            "schedule": {key: _plain(plan.get(key)) for key in ("epochs", "min_steps", "lr", "freeze_bn", "keep_start",
                                                                "crop", "batch_size", "freeze", "replay_share",
                                                                "calibrate_images")},
            "replay": getattr(plan.get("replay"), "source", plan.get("replay")),
            "input": {key: getattr(cfg, key) for key in ("min_size", "max_size", "tile", "scale")},
            "val_baseline": result.baseline, "val_best": result.best_value, "best_epoch": result.best_epoch,
            "kept": "fine-tuned" if result.improved else "start model", "train_seconds": round(seconds),
            "guard": getattr(plan.get("guard"), "source", plan.get("guard")), "guard_tolerance": cfg.guard_tolerance,
            "epochs": [{"epoch": r["epoch"], "held_out": r["value"], "guard": r.get("guard"),
                        "guarded": r.get("guarded", False), "best": r["best"], "calibration": r.get("calibration"),
                        "scored": before if r["epoch"] == 0 else epochs_scored.get(r["epoch"])}
                       for r in result.history],
            "before": before, "after": after, "last": last}


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def has_objects(item, task: str) -> bool:
    if task == "instance":
        return len(item.instances().class_ids) > 0
    return True


def table(runs: list[dict]) -> str:
    lines = ["| set | k | seeds | kept fine-tuned | before | after (kept) | change (mean, min..max) | last epoch |",
             "|---|---|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["set"] for r in runs):
        for k in sorted({r["k"] for r in runs if r["set"] == name}):
            rs = [r for r in runs if r["set"] == name and r["k"] == k]
            for metric in rs[0]["before"]:
                b = [r["before"][metric] for r in rs]
                a = [r["after"][metric] for r in rs]
                d = [y - x for x, y in zip(b, a)]
                kept = sum(r["kept"] == "fine-tuned" for r in rs)
                last = statistics.mean(r["last"][metric] for r in rs) if all(r["last"] for r in rs) else float("nan")
                lines.append(f"| {name} ({metric}) | {k} | {len(rs)} | {kept}/{len(rs)} | {statistics.mean(b):.3f} | "
                             f"{statistics.mean(a):.3f} | {statistics.mean(d):+.3f} ({min(d):+.3f}..{max(d):+.3f}) | "
                             f"{last:.3f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    ap.add_argument("--k", nargs="+", type=int, default=[5, 10, 20])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, help="this many epochs instead of the schedule's")
    ap.add_argument("--min-steps", type=int, help="batches per epoch instead of the schedule's")
    ap.add_argument("--score-images", type=int, help="score on the first N remaining images only (reduced runs)")
    ap.add_argument("--quick", action="store_true", help="k = 10, seed 0, at most 3 epochs, 40 scored images")
    ap.add_argument("--variant", nargs="+", choices=list(VARIANTS), default=["defaults"],
                    help="defaults changed (VARIANTS), applied in order")
    ap.add_argument("--replay-images", type=int, default=48,
                    help="how many of the bundled model's training images a replaying schedule mixes in")
    ap.add_argument("--no-last", action="store_true", help="do not score the last epoch (saves a scoring pass)")
    ap.add_argument("--score-epochs", action="store_true",
                    help="score every epoch on the scored images (what any acceptance rule would have kept)")
    ap.add_argument("--json", help="write every run here")
    args = ap.parse_args()
    if args.quick:
        args.k, args.seeds, args.epochs, args.score_images = [10], [0], args.epochs or 3, args.score_images or 40
    torch.set_num_threads(1)  # on a shared CPU one thread per process is fastest
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            for k in args.k:
                for seed in args.seeds:
                    run = one_run(name, k, seed, args.epochs, args.min_steps, args.score_images, Path(tmp),
                                  tuple(args.variant), not args.no_last, args.replay_images, args.score_epochs)
                    runs.append(run)
                    print(json.dumps({key: v for key, v in run.items() if key != "corrected"}), flush=True)
    if "aerial-landcover" in args.sets:
        print("note: aerial-landcover was trained on every tile but tile7, so its scores there are flattered")
    print(table(runs))
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
