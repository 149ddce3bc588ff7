"""Does training on corrected images help? (issue 23) The loop a user runs, measured: k images of a set the
bundled model never trained on are taken as "corrected", the bundled model is fine-tuned on them with the
defaults a user gets (core.training.schedule.settings, the dialog's held-out images), and both the bundled
model and the kept model are scored on the rest of the set.

    python bench/bench_training_loop.py                       # k = 5, 10, 20; seeds 0, 1, 2; all three sets
    python bench/bench_training_loop.py --quick --sets nuclei-instance nuclei-semantic   # k = 10, seed 0, reduced
    python bench/bench_training_loop.py --sets nuclei-instance --k 10 --seeds 0 --epochs 3 --score-images 40
    python bench/bench_training_loop.py --quick --sets nuclei-semantic --variant train-bn   # one default changed

Sets: nuclei-instance and nuclei-semantic take the corrected images from nuclei val.json (the bundled nuclei models
were trained on train.json); aerial-landcover takes whole tiles (images of one tile look alike), shuffled by the
seed, until k images, and scores the other tiles - the bundled model saw all tiles but tile7 in training, so its
"before" there is flattered (said in the output). The budget is fixed in steps (epochs x batches of the
schedule), never in wall-clock time. --quick: k = 10, seed 0, at most 3 epochs, 40 scored images. Besides the
kept model ("after") the last trained epoch is scored too ("last"): what keeping the start model saved or cost.
--variant changes one default (VARIANTS) to see what it matters.
Prints one line per run and a before/after table per set and k (mean and spread over the seeds); --json writes
all runs.
"""
from __future__ import annotations

import argparse
import json
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

VAL_SHARE = 0.2  # the train dialog's default validation share
# --variant: one default changed (TrainConfig fields)
VARIANTS = {"defaults": {}, "train-bn": {"freeze_bn": False}, "lr-1e-4": {"lr": 1e-4}, "lr-1e-3": {"lr": 1e-3},
            "min-size-512": {"min_size": 512}, "old-cli": {"lr": 1e-3, "min_size": 512, "freeze_bn": False}}

# set -> (task, arch, loader of the pool, unit of the draw: "image" or "tile")
SETS = {
    "nuclei-instance": ("instance", "maskrcnn_resnet18_lite",
                        lambda: from_coco(DATA / "nuclei" / "val.json", task="instance"), "image"),
    "nuclei-semantic": ("semantic", "unet_small",
                        lambda: from_coco(DATA / "nuclei" / "val.json", task="semantic"), "image"),
    "aerial-landcover": ("semantic", "unet_small", lambda: from_png_folder(DATA / "aerial"), "tile"),
}


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


def score(checkpoint: str | Path, data, task: str) -> dict:
    """The training loop's own validation metrics for a checkpoint, with its recorded input size."""
    runner = CheckpointRunner(checkpoint)
    if task == "instance":
        s = inst.validate(runner.model, data.items, data.classes, int(runner.input.get("min_size", 512)),
                          int(runner.input.get("max_size", 1024)), "cpu")
        return {"ap": s["ap"], "ap50": s["ap50"], "ap75": s["ap75"]}
    n = max(data.classes.ids()) + 1
    s = sem.validate(runner.model, data.items, n, data.ignore_index, int(runner.input.get("tile", 512)), "cpu",
                     scale=float(runner.input.get("scale", 1.0)))
    return {"miou": s["miou"]}


def one_run(name: str, k: int, seed: int, epochs: int | None, score_images: int | None, workdir: Path,
            variant: str = "defaults") -> dict:
    task, arch, load, unit = SETS[name]
    pool = load()
    names = [it.name for it in pool.items if has_objects(it, task)]
    corrected = draw(names, k, seed, unit)
    rest = [n for n in names if n not in set(corrected)]
    if score_images:
        rest = rest[:score_images]
    start = str(MODELS / f"{name}.pt")
    plan = settings(task, start, **({"epochs": min(epochs, settings(task, start)["epochs"])} if epochs else {}))
    plan.update(VARIANTS[variant])
    out = workdir / f"{name}-k{k}-s{seed}.pt"
    cfg = TrainConfig(arch=arch, data=select(pool, corrected), val_names=held_out_names(corrected, VAL_SHARE),
                      out=str(out), init=start, seed=seed, device="cpu", threads=1,
                      command="bench_training_loop", **plan)
    t0 = time.monotonic()
    result = train(cfg)
    seconds = time.monotonic() - t0
    scored = select(pool, rest)
    before, after, last = score(start, scored, task), score(out, scored, task), score(cfg.last_path(), scored, task)
    return {"set": name, "variant": variant, "k": k, "seed": seed, "scored_images": len(rest), "corrected": corrected,
            "schedule": {key: plan[key] for key in ("epochs", "min_steps", "lr", "freeze_bn", "keep_start", "crop")},
            "input": {key: getattr(cfg, key) for key in ("min_size", "max_size", "tile", "scale")},
            "val_baseline": result.baseline, "val_best": result.best_value, "best_epoch": result.best_epoch,
            "kept": "fine-tuned" if result.improved else "start model", "train_seconds": round(seconds),
            "before": before, "after": after, "last": last}


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
                last = statistics.mean(r["last"][metric] for r in rs)
                lines.append(f"| {name} ({metric}) | {k} | {len(rs)} | {kept}/{len(rs)} | {statistics.mean(b):.3f} | "
                             f"{statistics.mean(a):.3f} | {statistics.mean(d):+.3f} ({min(d):+.3f}..{max(d):+.3f}) | "
                             f"{last:.3f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    ap.add_argument("--k", nargs="+", type=int, default=[5, 10, 20])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, help="at most this many of the schedule's epochs (reduced runs)")
    ap.add_argument("--score-images", type=int, help="score on the first N remaining images only (reduced runs)")
    ap.add_argument("--quick", action="store_true", help="k = 10, seed 0, at most 3 epochs, 40 scored images")
    ap.add_argument("--variant", choices=list(VARIANTS), default="defaults", help="one default changed")
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
                    run = one_run(name, k, seed, args.epochs, args.score_images, Path(tmp), args.variant)
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
