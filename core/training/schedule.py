"""The one training schedule of Maskwork: `maskwork train` and the train dialog both take their settings from
`settings(task, init)` (issue 23: they used to train with different defaults, the CLI's lr 1e-3 for 10 epochs
made nuclei-instance worse).

Starting from a model (`--from`, the dialog's "Start from") is a short, gentle fine-tune; from random weights a
longer run at a higher learning rate (the numbers the bundled models were trained with, tools/train_bundled.py).
An epoch is at least `min_steps` batches of random crops, so a handful of corrected images still gets enough
updates; more images make longer epochs. A fine-tune also
  - sees the images at the size the start model was trained at (its checkpoint header "input": nuclei-instance
    was trained at min_size 320, the old default 512 showed it nuclei 1.6 x larger than it knew),
  - keeps BatchNorm statistics of the start model (batches of 4 crops of a few images are poor estimates),
  - keeps the start model unless a fine-tuned epoch beats it on the held-out images (`keep_start`).
Flags given by the user override any of these (`settings(..., **given)`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Schedule:
    epochs: int
    min_steps: int      # batches per epoch at least (one pass over the images when that is more)
    lr: float
    warmup_steps: int
    freeze_bn: bool = False   # BatchNorm layers keep the start model's statistics
    keep_start: bool = False  # score the start model first; keep it unless an epoch beats it

    def steps_per_epoch(self, n_images: int, batch_size: int) -> int:
        return max(self.min_steps, math.ceil(max(n_images, 1) / batch_size))

    def describe(self, n_images: int, batch_size: int) -> str:
        steps = self.steps_per_epoch(n_images, batch_size)
        return (f"{self.epochs} epochs x {steps} batches of {batch_size} crops, learning rate {self.lr:g} "
                f"after {self.warmup_steps} warm-up steps, then cosine decay")


# (task, starting from a trained model) -> schedule
SCHEDULES = {
    ("semantic", True): Schedule(epochs=8, min_steps=25, lr=5e-4, warmup_steps=10, freeze_bn=True,
                                 keep_start=True),
    ("semantic", False): Schedule(epochs=20, min_steps=60, lr=2e-3, warmup_steps=20),
    ("instance", True): Schedule(epochs=6, min_steps=25, lr=2.5e-4, warmup_steps=10, freeze_bn=True,
                                 keep_start=True),
    ("instance", False): Schedule(epochs=12, min_steps=50, lr=5e-4, warmup_steps=30),
}
BATCH_SIZE = 4
CROP = 256
# TrainConfig fields a start model's checkpoint header "input" sets (header key -> field)
INPUT_FIELDS = {"min_size": "min_size", "max_size": "max_size", "detections_per_img": "detections_per_img",
                "tile": "tile", "scale": "scale"}


def suggest(task: str, fine_tune: bool) -> Schedule:
    return SCHEDULES[(task, bool(fine_tune))]


def start_input(init: str | None) -> dict:
    """The "input" of the start model's header (registry name or checkpoint path), read without torch;
    {} from scratch, for a plain state dict or a model whose header cannot be read (loading it says why)."""
    if not init:
        return {}
    from maskwork.core.domain.errors import MaskworkError
    from maskwork.core.models.catalog.headers import read_header
    from maskwork.core.models.catalog.registry import get_model, weights_file

    try:
        path = Path(init) if Path(init).is_file() else weights_file(get_model(init))
        return dict(read_header(path).get("input") or {}) if path is not None and path.is_file() else {}
    except (MaskworkError, OSError):
        return {}


def settings(task: str, init: str | None, **given) -> dict:
    """TrainConfig fields of the schedule for this start (None: scratch), the start model's input size, then
    the values the user gave (None values are not given)."""
    plan = suggest(task, init is not None)
    out = {"epochs": plan.epochs, "min_steps": plan.min_steps, "lr": plan.lr, "warmup_steps": plan.warmup_steps,
           "freeze_bn": plan.freeze_bn, "keep_start": plan.keep_start, "batch_size": BATCH_SIZE, "crop": CROP}
    header = start_input(init)
    out.update({field: header[key] for key, field in INPUT_FIELDS.items() if key in header})
    out.update({k: v for k, v in given.items() if v is not None})
    return out


# What bench/bench_training_loop.py measured: (task, corrected images) -> (set, metric, before, after, how).
# Filled from docs/BENCHMARKS.md "Training on corrected images"; only what was really measured is listed.
MEASURED_GAIN: dict[tuple[str, int], tuple[str, str, float, float, str]] = {
    ("instance", 10): ("nuclei-instance", "mask AP", 0.376, 0.376, "one seed, 3 of 6 epochs, 40 images scored"),
    ("semantic", 10): ("nuclei-semantic", "mean IoU", 0.812, 0.812, "one seed, 3 of 8 epochs, 40 images scored"),
}


def expected_gain(task: str, n_corrected: int) -> str:
    """One sentence for the train dialog: the measured before/after nearest this project's size, or that none was."""
    sizes = [k for (t, k) in MEASURED_GAIN if t == task]
    if not sizes:
        return f"No benchmark of fine-tuning {task} models has been measured yet: the scores before and after on " \
               "your held-out images will tell."
    k = min(sizes, key=lambda size: abs(size - n_corrected))
    name, metric, before, after, how = MEASURED_GAIN[(task, k)]
    if round(after - before, 3) == 0:
        return (f"Expected gain: small. On the benchmark ({how}) no epoch of {name} fine-tuned on {k} corrected "
                f"images beat the start model on the held-out ones, so it was kept ({metric} {before:.3f} on the "
                f"other images); you have {n_corrected}. The scores below tell for your images.")
    return (f"Expected gain: on the benchmark ({how}), {name} fine-tuned on {k} corrected images went from {metric} "
            f"{before:.3f} to {after:.3f} on the other images; you have {n_corrected}.")
