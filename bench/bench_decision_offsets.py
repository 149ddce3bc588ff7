"""How far is a semantic model's argmax from the decision that maximises mean IoU? (issue 23, ADR 0023)

    python bench/bench_decision_offsets.py                                   # the bundled nuclei-semantic
    python bench/bench_decision_offsets.py --checkpoint before.pt            # e.g. the model before its offsets
    git show 506bcf3:resources/models/nuclei-semantic.pt > /tmp/before.pt    # (the bundled model untuned)

Scores the model's nucleus-vs-background decision with an offset added to the nucleus logit, pooled over all pixels
(as `maskwork evaluate` scores), on nuclei val (the images after the first 20, on which the bundled model's best
epoch was picked) and on 120 nuclei training images (a fixed draw); then how stable the best offset is when it is
chosen on 48 training images (6 draws), as core/training/calibrate.py chooses it. Binary models only.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "nuclei"
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from maskwork.core.training import semantic as sem  # noqa: E402
from maskwork.core.training.datasets import from_coco  # noqa: E402
from maskwork.core.training.runner import CheckpointRunner  # noqa: E402

OFFSETS = np.round(np.arange(-1.5, 1.001, 0.25), 2)


def margins(runner, items) -> list[tuple[np.ndarray, np.ndarray]]:
    """(nucleus logit - background logit, truth) per image, full resolution."""
    out = []
    for it in items:
        logits = sem.predict_logits(runner.model, it.image(), int(runner.input.get("tile", 512)))
        out.append(((logits[1] - logits[0]).numpy(), it.label_map() > 0))
    return out


def miou(images, offset: float) -> float:
    conf = np.zeros((2, 2))
    for margin, truth in images:
        pred = margin + offset > 0
        conf += [[np.sum(~truth & ~pred), np.sum(~truth & pred)], [np.sum(truth & ~pred), np.sum(truth & pred)]]
    tp = np.diag(conf)
    return float(np.mean(tp / (conf.sum(0) + conf.sum(1) - tp)))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default=str(ROOT / "resources" / "models" / "nuclei-semantic.pt"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    runner = CheckpointRunner(args.checkpoint)
    runner.model.eval()
    val = margins(runner, from_coco(DATA / "val.json", task="semantic").items[20:])
    train = margins(runner, random.Random(5).sample(from_coco(DATA / "train.json", task="semantic").items, 120))
    print(f"checkpoint {args.checkpoint}\n\n| offset on the nucleus logit | nuclei val ({len(val)} images) | "
          f"nuclei train ({len(train)} images) |\n|---:|---:|---:|")
    for offset in OFFSETS:
        print(f"| {offset:+.2f} | {miou(val, offset):.4f} | {miou(train, offset):.4f} |")
    best = [max(OFFSETS, key=lambda o: miou(random.Random(s).sample(train, 48), o)) for s in range(6)]
    print(f"\nbest offset on 48 of the training images, 6 draws: {', '.join(f'{b:+.2f}' for b in best)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
