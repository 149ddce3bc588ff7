"""Train Maskwork's bundled models on ../shared/datasets (CPU-friendly settings, time-limited).

    python tools/train_bundled.py nuclei-semantic --minutes 60
    python tools/train_bundled.py aerial-landcover --minutes 80
    python tools/train_bundled.py nuclei-instance --minutes 100

Each run keeps the best checkpoint (validated every epoch) in resources/models/<name>.pt and the resumable
state in /tmp/<name>.last.pt; `--resume` continues a stopped run.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from maskwork.core.training.datasets import from_coco, from_png_folder  # noqa: E402
from maskwork.core.training.loop import TrainConfig, train  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets"


def configs(name: str) -> tuple[TrainConfig, str]:
    out = str(ROOT / "resources" / "models" / f"{name}.pt")
    last = f"/tmp/{name}.last.pt"
    table = {
        "nuclei-semantic": lambda: TrainConfig(
            arch="unet_small", data=from_coco(DATA / "nuclei" / "train.json", task="semantic"),
            val=from_coco(DATA / "nuclei" / "val.json", task="semantic"), out=out, last_out=last,
            epochs=20, steps_per_epoch=60, batch_size=6, crop=128, lr=2e-3, seed=1, tile=512,
            aug_scale=(0.7, 1.4), max_val_images=20, warmup_steps=20),
        "aerial-landcover": lambda: TrainConfig(
            arch="unet_small", data=from_png_folder(DATA / "aerial"), val_names=["tile7_"], out=out, last_out=last,
            epochs=20, steps_per_epoch=60, batch_size=6, crop=160, lr=2e-3, seed=1, tile=512, scale=0.5,
            aug_scale=(0.75, 1.33), max_val_images=4, warmup_steps=20),
        "nuclei-instance": lambda: TrainConfig(
            arch="maskrcnn_resnet18_lite", data=from_coco(DATA / "nuclei" / "train.json"),
            val=from_coco(DATA / "nuclei" / "val.json"), out=out, last_out=last,
            epochs=12, steps_per_epoch=50, batch_size=4, crop=160, lr=5e-4, seed=1, min_size=320,
            max_size=1024, max_val_images=10, warmup_steps=30),
    }
    return table[name](), out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=["nuclei-semantic", "aerial-landcover", "nuclei-instance"])
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--threads", type=int, default=1, help="1 is fastest on a busy machine: with 2, each "
                    "thread waits for the other at every op when the scheduler parks it")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--epochs", type=int, help="override the planned epochs (e.g. to extend a finished run)")
    ap.add_argument("--steps-per-epoch", type=int, help="override the batches per epoch")
    ap.add_argument("--lr", type=float, help="override the peak learning rate")
    ap.add_argument("--bn-batches", type=int, help="semantic: batches BatchNorm statistics are estimated on "
                    "before each validation")
    ap.add_argument("--from-bundled", action="store_true", help="start from the bundled weights (a warm restart of "
                    "the learning-rate schedule) instead of random ones")
    ap.add_argument("--out", help="write the best checkpoint here instead of resources/models/<name>.pt")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg, out = configs(args.name)
    cfg.threads, cfg.resume, cfg.time_limit_s = args.threads, args.resume, args.minutes * 60
    cfg.epochs = args.epochs or cfg.epochs
    cfg.steps_per_epoch = args.steps_per_epoch or cfg.steps_per_epoch
    cfg.lr = args.lr or cfg.lr
    cfg.bn_batches = args.bn_batches or cfg.bn_batches
    cfg.init = out if args.from_bundled else None
    cfg.out = args.out or out
    cfg.command = "python " + " ".join(sys.argv)
    t0 = time.time()

    def on_epoch(rec):
        print(time.strftime("%H:%M:%S"), json.dumps(rec, default=str), flush=True)

    def progress(done, total, msg):
        if done % 10 == 0:
            print(f"{time.strftime('%H:%M:%S')} step {done}/{total} {msg}", flush=True)

    result = train(cfg, progress=progress, on_epoch=on_epoch)
    print("RESULT", result.stopped, result.metric, result.best_value, "epoch", result.best_epoch,
          f"{time.time() - t0:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
