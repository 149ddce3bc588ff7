"""The optimizers a training run can use (a declared table) and its learning rate over the steps."""
from __future__ import annotations

import math

import torch

OPTIMIZERS = {
    "adamw": lambda params, lr, wd: torch.optim.AdamW(params, lr=lr, weight_decay=wd),
    "sgd": lambda params, lr, wd: torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=wd),
}


class LearningRate:
    """Linear warm-up, then cosine down to 2 % of the peak. With a time limit the cosine follows
    whichever is further along, steps or time, so a run cut by the clock still ends at a low rate."""

    def __init__(self, opt, lr: float, warmup: int, total: int, time_limit_s: float | None):
        self.opt, self.lr, self.warmup, self.total, self.limit = opt, lr, warmup, total, time_limit_s

    def set(self, step: int, elapsed: float) -> None:
        if step < self.warmup:
            factor = (step + 1) / self.warmup
        else:
            t = (step - self.warmup) / max(1, self.total - self.warmup)
            if self.limit:
                t = max(t, elapsed / self.limit)
            factor = 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
        for group in self.opt.param_groups:
            group["lr"] = self.lr * factor
