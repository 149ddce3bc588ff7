"""The training schedule the train dialog proposes: a short, gentle fine-tune when starting from a
model, a longer run at a higher learning rate from random weights (the numbers the bundled models were
trained with, tools/train_bundled.py). An epoch is at least `min_steps` batches of random crops, so a
handful of corrected images still gets enough updates; more images make longer epochs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    epochs: int
    min_steps: int      # batches per epoch at least (one pass over the images when that is more)
    lr: float
    warmup_steps: int

    def steps_per_epoch(self, n_images: int, batch_size: int) -> int:
        return max(self.min_steps, math.ceil(max(n_images, 1) / batch_size))

    def describe(self, n_images: int, batch_size: int) -> str:
        steps = self.steps_per_epoch(n_images, batch_size)
        return (f"{self.epochs} epochs x {steps} batches of {batch_size} crops, learning rate {self.lr:g} "
                f"after {self.warmup_steps} warm-up steps, then cosine decay")


# (task, starting from a trained model) -> schedule
SCHEDULES = {
    ("semantic", True): Schedule(epochs=8, min_steps=25, lr=5e-4, warmup_steps=10),
    ("semantic", False): Schedule(epochs=20, min_steps=60, lr=2e-3, warmup_steps=20),
    ("instance", True): Schedule(epochs=6, min_steps=25, lr=2.5e-4, warmup_steps=10),
    ("instance", False): Schedule(epochs=12, min_steps=50, lr=5e-4, warmup_steps=30),
}


def suggest(task: str, fine_tune: bool) -> Schedule:
    return SCHEDULES[(task, bool(fine_tune))]
