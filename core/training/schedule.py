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
  - keeps the start model unless a fine-tuned epoch beats it on the held-out images (`keep_start`),
  - mixes images the bundled model was trained on into its batches (`replay`, resources/replay, made by
    tools/make_replay_set.py) so a handful of images does not pull it away from what it knew,
  - keeps a fine-tuned epoch only if it also does not fall on other images the bundled model was trained on
    (`guard`, resources/replay/nuclei-guard): 1 or 2 held-out images said "better" in all 18 epochs of runs
    that made the other images worse (docs/BENCHMARKS.md "An acceptance guard"),
  - trains at a learning rate near the one the start model's own training ended at: the earlier fine-tune rates
    (5e-4 semantic, 2.5e-4 instance) made both nuclei models worse on the images not corrected, nuclei-semantic
    by up to 0.13 mean IoU (docs/BENCHMARKS.md "Training on corrected images").
Flags given by the user override any of these (`settings(..., **given)`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

OPTIMIZER_NAMES = {"adamw": "AdamW", "sgd": "SGD with momentum"}


@dataclass(frozen=True)
class Schedule:
    epochs: int
    min_steps: int      # batches per epoch at least (one pass over the images when that is more)
    lr: float
    warmup_steps: int
    freeze_bn: bool = False   # BatchNorm layers keep the start model's statistics
    keep_start: bool = False  # score the start model first; keep it unless an epoch beats it
    crop: int = 256
    batch_size: int = 4
    replay_share: float = 0.0  # share of the crops taken from the start model's replay set, when it has one
    guard: bool = False        # with keep_start: an epoch must not fall on the start model's guard set, when it has one
    optimizer: str = "adamw"   # core.training.optim.OPTIMIZERS
    bn_stats: str = "recalibrate"  # when BatchNorm trains (--train-bn): "shift" keeps the start model's (batchnorm.py)
    calibrate_images: int = 0  # semantic: logit offsets tuned for mean IoU on this many training images (calibrate.py)

    def steps_per_epoch(self, n_images: int, batch_size: int) -> int:
        return max(self.min_steps, math.ceil(max(n_images, 1) / batch_size))

    def describe(self, n_images: int, batch_size: int) -> str:
        steps = self.steps_per_epoch(n_images, batch_size)
        tuned = (f"; before each score, the class decision offsets are tuned for mean IoU on up to "
                 f"{self.calibrate_images} training images" if self.calibrate_images else "")
        return (f"{self.epochs} epochs x {steps} batches of {batch_size} crops, {OPTIMIZER_NAMES[self.optimizer]} "
                f"at learning rate {self.lr:g} after {self.warmup_steps} warm-up steps, then cosine decay{tuned}")


CALIBRATE_IMAGES = 48  # 6 draws of 48 nuclei training images each gave an offset within 0.25 of the 120-image one
# (task, starting from a trained model) -> schedule
SCHEDULES = {
    ("semantic", True): Schedule(epochs=3, min_steps=20, lr=1e-5, warmup_steps=10, freeze_bn=True,
                                 keep_start=True, crop=128, batch_size=8, replay_share=0.5, guard=True,
                                 bn_stats="shift", calibrate_images=CALIBRATE_IMAGES),
    ("semantic", False): Schedule(epochs=20, min_steps=60, lr=2e-3, warmup_steps=20,
                                  calibrate_images=CALIBRATE_IMAGES),
    ("instance", True): Schedule(epochs=6, min_steps=20, lr=2e-5, warmup_steps=10, freeze_bn=True,
                                 keep_start=True, replay_share=0.5, guard=True),
    ("instance", False): Schedule(epochs=12, min_steps=50, lr=5e-4, warmup_steps=30),
}
# bundled model -> its replay set and its guard set under resources/replay (a COCO file and its images)
REPLAY = {"nuclei-instance": "nuclei", "nuclei-semantic": "nuclei"}
GUARD = {"nuclei-instance": "nuclei-guard", "nuclei-semantic": "nuclei-guard"}
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


def replay_source(init: str | None, sets: dict = REPLAY) -> Path | None:
    """The replay set (`sets=GUARD`: the guard set) of a bundled start model (registry name or its bundled weights
    file), None for any other start or when the set is not installed."""
    from maskwork.core.resources import bundled_models_dir, resources_dir

    if not init:
        return None
    name = init if init in sets else next((n for n in sets if _same_file(init, bundled_models_dir() / f"{n}.pt")),
                                          None)
    path = resources_dir() / "replay" / sets[name] / "annotations.json" if name else None
    return path if path is not None and path.is_file() else None


def _same_file(a: str, b: Path) -> bool:
    try:
        return Path(a).is_file() and b.is_file() and Path(a).samefile(b)
    except OSError:
        return False


def settings(task: str, init: str | None, **given) -> dict:
    """TrainConfig fields of the schedule for this start (None: scratch), the start model's input size and replay
    set, then the values the user gave (None values are not given)."""
    plan = suggest(task, init is not None)
    out: dict[str, object] = {"epochs": plan.epochs, "min_steps": plan.min_steps, "lr": plan.lr,
                              "warmup_steps": plan.warmup_steps,
                              "freeze_bn": plan.freeze_bn, "keep_start": plan.keep_start,
                              "batch_size": plan.batch_size, "crop": plan.crop, "optimizer": plan.optimizer,
                              "bn_stats": plan.bn_stats, "calibrate_images": plan.calibrate_images}
    replay = replay_source(init) if plan.replay_share > 0 else None
    if replay is not None:
        out.update(replay=str(replay), replay_share=plan.replay_share)
    guard = replay_source(init, GUARD) if plan.guard and plan.keep_start else None
    if guard is not None:
        out["guard"] = str(guard)
    header = start_input(init)
    out.update({field: header[key] for key, field in INPUT_FIELDS.items() if key in header})
    out.update({k: v for k, v in given.items() if v is not None})
    if not out.get("replay_share"):  # told not to replay (--no-replay)
        out.pop("replay", None)
    if out.get("guard") is False:  # told not to guard (--no-guard)
        out.pop("guard")
    return out


@dataclass(frozen=True)
class Measured:
    """One row of docs/BENCHMARKS.md "Training on corrected images": the bundled model fine-tuned with these
    defaults on k corrected images, scored on the other images of the same set (mean over the seeds)."""
    task: str
    model: str
    images: str         # what the images were to the model: like its training data, or a new area
    k: int
    metric: str
    before: float
    after: float
    seeds: int


# What bench/bench_training_loop.py measured with the defaults above; only what was really measured is listed.
MEASURED_GAIN: tuple[Measured, ...] = (
    Measured("semantic", "aerial-landcover", "photos of an area it never saw (aerial tile 7)", 5, "mean IoU",
             0.4735, 0.4948, 3),
    Measured("semantic", "nuclei-semantic", "images like its training data (nuclei val)", 5, "mean IoU",
             0.8643, 0.8667, 3),
    Measured("semantic", "nuclei-semantic", "images like its training data (nuclei val)", 10, "mean IoU",
             0.8678, 0.8697, 6),
    Measured("semantic", "nuclei-semantic", "images like its training data (nuclei val)", 20, "mean IoU",
             0.8675, 0.8683, 6),
    Measured("instance", "nuclei-instance", "images like its training data (nuclei val)", 5, "mask AP",
             0.351, 0.352, 3),
    Measured("instance", "nuclei-instance", "images like its training data (nuclei val)", 10, "mask AP",
             0.3515, 0.3583, 6),
    Measured("instance", "nuclei-instance", "images like its training data (nuclei val)", 20, "mask AP",
             0.3678, 0.3719, 6),
)


def expected_gain(task: str, n_corrected: int) -> str:
    """A few sentences for the train dialog: what the benchmark measured for this task, for each model and kind of
    images the row whose number of corrected images is nearest the project's, or that nothing was measured."""
    rows = [m for m in MEASURED_GAIN if m.task == task]
    if not rows:
        return f"No benchmark of fine-tuning {task} models has been measured yet: the scores before and after on " \
               "your held-out images will tell."
    nearest: dict[tuple[str, str], Measured] = {}
    for m in rows:
        best = nearest.get((m.model, m.images))
        if best is None or abs(m.k - n_corrected) < abs(best.k - n_corrected):
            nearest[(m.model, m.images)] = m
    said = []
    for m in nearest.values():
        change = m.after - m.before
        what = (f"went from {m.metric} {m.before:.3f} to {m.after:.3f} ({change:+.3f})" if abs(change) >= 0.0005
                else f"stayed at {m.metric} {m.before:.3f} (the start model was kept)")
        said.append(f"on {m.images}, {m.model} fine-tuned on {m.k} corrected images {what} on the other images "
                    f"(mean of {m.seeds} draws)")
    return ("Expected gain, from the benchmark: " + "; ".join(said) + f". You have {n_corrected}. A fine-tune gains "
            "where your images differ from what the model was trained on; the scores below, on your own held-out "
            "images, tell for yours.")
