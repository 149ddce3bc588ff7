"""BatchNorm running statistics of a semantic model while it trains (core.training.loop).

From scratch the statistics are re-estimated on training batches before each validation (`recalibrate`).
A fine-tune must not do that: the start model's statistics summarise every image it was trained on, and a
re-estimate from a handful of corrected images describes only those - recalibrating nuclei-semantic on 8 corrected
images (half of the crops from its replay set) dropped its mean IoU on 16 other training images from 0.873 to 0.823
with no weight changed (docs/BENCHMARKS.md "Training on corrected images"). `Shift` keeps the start model's statistics
and moves them only by what the weight change did to the activations, measured on the same fixed crops before and
after: start + (now - before) for the means, start x now / before for the variances.
"""
from __future__ import annotations

import random

import torch

from maskwork.core.training import semantic as sem


def norms(model) -> list:
    """Every BatchNorm layer of the model (1d, 2d, 3d, sync)."""
    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recalibrate(model, data, batches: int, batch_size: int, crop: int, ignore, scale: tuple, device,
                rng: random.Random) -> None:
    """Replace BatchNorm running statistics by their plain average over `batches` training batches.

    With momentum 0.1 they follow the last ~10 batches, so a run of unusual images (a stain seen rarely)
    just before validation made a good model predict one class everywhere. A separate rng keeps the
    training sample order unchanged (resume gives the same weights).
    """
    layers = norms(model)
    if not layers:
        return
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    for _ in range(batches):
        images, _ = sem.make_batch(data.items, rng, batch_size, crop, ignore, scale, device)
        model(images)
    for m, momentum in zip(layers, momenta):
        m.momentum = momentum


class Shift:
    """The start model's statistics, moved by the change the training made to the activations on fixed crops."""

    def __init__(self, model, data, batches: int, batch_size: int, crop: int, ignore, scale: tuple, device,
                 seed: int):
        self.args = (data, batches, batch_size, crop, ignore, scale, device)
        self.seed = seed
        self.start = [(m.running_mean.clone(), m.running_var.clone()) for m in norms(model)]
        self.before = self._measure(model)

    @torch.no_grad()
    def _measure(self, model) -> list:
        layers = norms(model)
        kept = [(m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone()) for m in layers]
        recalibrate(model, *self.args, random.Random(self.seed))  # the same crops every time
        measured = [(m.running_mean.clone(), m.running_var.clone()) for m in layers]
        for m, (mean, var, count) in zip(layers, kept):
            m.running_mean.copy_(mean), m.running_var.copy_(var), m.num_batches_tracked.copy_(count)
        return measured

    @torch.no_grad()
    def apply(self, model) -> None:
        now = self._measure(model)
        for m, (s_mean, s_var), (b_mean, b_var), (n_mean, n_var) in zip(norms(model), self.start, self.before, now):
            m.running_mean.copy_(s_mean + (n_mean - b_mean))
            m.running_var.copy_(s_var * n_var / b_var.clamp_min(1e-5))
