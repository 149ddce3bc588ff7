"""Training a project's corrected images, as any front end runs it (the train dialog's worker jobs today): the
request, where the trained checkpoint goes (the project's .maskwork/models), a free model name, the held-out
images' before/after sentence, keeping (registering) or discarding the result.

The run's settings come from core.training.schedule.settings, as `maskwork train`'s do (one schedule); the images
scored before and after training are the ones the dialog holds out (core.training.datasets.held_out_names).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from maskwork.core.domain.annotation import Status
from maskwork.core.domain.errors import MaskworkError

MODELS_DIR = Path(".maskwork") / "models"  # trained checkpoints live with the project they came from


@dataclass
class TrainRequest:
    project_root: Path
    arch: str
    epochs: int
    val_share: float
    name: str
    start_from: str | None = None
    crop: int = 256          # training crop (semantic: also the tile the predictor uses)
    batch_size: int | None = None      # None: the schedule's
    steps_per_epoch: int | None = None  # None: one pass over the training images
    lr: float | None = None            # None: the schedule's
    warmup_steps: int | None = None
    val_names: list[str] | None = None  # the held-out images; None: val_share of them at random

    @property
    def out(self) -> Path:
        return self.project_root / MODELS_DIR / f"{self.name}.pt"


@dataclass
class TrainOutcome:
    model_name: str | None   # registered name, None when no epoch finished
    checkpoint: str
    stopped: str             # "done" | "cancelled" | "time limit"
    best_value: float
    metric: str
    epochs_done: int
    baseline: float | None = None  # the start model's score on the held-out images (None from scratch)
    improved: bool = True          # an epoch was saved (from scratch; or it beat the start model)
    held_out: int = 0
    guarded: int = 0               # epochs that beat the start model on the held-out images but fell on its guard set

    @property
    def saved(self) -> bool:
        return self.epochs_done > 0 and self.improved

    def before_after(self, metric_name: str, start: str | None) -> str:
        """One sentence: the start model's and the new model's scores on the held-out images, and what is kept."""
        images = f"your {self.held_out} held-out corrected image{'s' if self.held_out != 1 else ''}"
        if self.baseline is None:
            return f"best {metric_name} {self.best_value:.3f} on {images} after {self.epochs_done} epochs."
        if not self.improved and self.guarded:
            return (f"No epoch was kept: {self.guarded} beat {start} on {images} (before {metric_name} "
                    f"{self.baseline:.3f}) but fell on other images {start} was trained on: {start} stays the model "
                    "to use; nothing new was added.")
        if not self.improved:
            return (f"No epoch beat {start} on {images} (before {metric_name} {self.baseline:.3f}): {start} stays "
                    "the model to use; nothing new was added.")
        return (f"Before (the start model {start}): {metric_name} {self.baseline:.3f}; after: {self.best_value:.3f} "
                f"({self.best_value - self.baseline:+.3f}) on {images}.")


def safe_name(text: str) -> str:
    """A model name usable as a file name: letters, digits, '.', '_' and '-' only."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-.")
    return name or "my-model"


def corrected_names(project) -> list[str]:
    """Corrected images in project order; one whose annotation cannot be read (its file replaced by one of another
    size, damaged) is left out here: training names it and says what to do."""
    names = []
    for name in project.image_names():
        try:
            if project.annotation(name).status == Status.CORRECTED:
                names.append(name)
        except MaskworkError:
            continue
    return names


def free_name(project_root: Path, name: str) -> str:
    """`name`, or `name-2`, `name-3`... when a checkpoint of that name is already in the project's models (a second
    run in the same minute must not overwrite, or on Discard delete, a model kept before)."""
    candidate, k = name, 1
    while (project_root / MODELS_DIR / f"{candidate}.pt").exists():
        k += 1
        candidate = f"{name}-{k}"
    return candidate


def count_corrected(project) -> int:
    return len(corrected_names(project))


def not_reviewed(project) -> list[str]:
    """Images not marked reviewed (core.store.review): the ones a new model pre-labels."""
    from maskwork.core.store.review import reviewed_names

    marks = reviewed_names(project)
    return [n for n in project.image_names() if n not in marks]


def choices(task: str, progress=None, cancel=None) -> tuple[list[tuple[str, str]], list[tuple]]:
    """Architectures of the project's task, and models to start from as (name, TrainConfig.init value,
    architecture, class names): built-in models by name, the user's own by checkpoint path (imports torch)."""
    from maskwork.core.models.catalog.defaults import class_names
    from maskwork.core.models.catalog.registry import MODELS, all_models, weights_file
    from maskwork.core.models.torch_models.architectures import ARCHITECTURES

    archs = [(a.name, a.description) for a in ARCHITECTURES.values() if a.task == task]
    models = [(s.name, s.name if s.name in MODELS else str(weights_file(s)), s.arch, class_names(s.classes))
              for s in all_models() if s.task == task and s.backend == "torch"]  # ONNX files cannot be trained
    return archs, models


def train_config(req: TrainRequest):
    """The TrainConfig of a request: core.training.schedule's settings for the start, then the dialog's values."""
    from maskwork.core.models.torch_models.architectures import get_architecture
    from maskwork.core.training.loop import TrainConfig
    from maskwork.core.training.schedule import settings

    given = {"epochs": req.epochs, "steps_per_epoch": req.steps_per_epoch, "crop": req.crop,
             "batch_size": req.batch_size, "lr": req.lr, "warmup_steps": req.warmup_steps}
    return TrainConfig(arch=req.arch, data=str(req.project_root), out=str(req.out), val_fraction=req.val_share,
                       val_names=req.val_names, init=req.start_from,
                       command=f"GUI: train {req.arch} on {req.project_root}",
                       **settings(get_architecture(req.arch).task, req.start_from, **given))


def run_training(req: TrainRequest, on_epoch, progress=None, cancel=None) -> TrainOutcome:
    """Train; nothing is added to the models here (the user keeps or discards the result). A run where no epoch
    beat the start model leaves no file behind."""
    from maskwork.core.training.loop import train

    req.out.parent.mkdir(parents=True, exist_ok=True)
    result = train(train_config(req), progress=progress, cancel=cancel, on_epoch=on_epoch)
    guarded = sum(1 for r in result.history if r.get("guarded") and result.baseline is not None
                  and r["value"] > result.baseline)
    outcome = TrainOutcome(None, str(req.out), result.stopped, float(result.best_value), result.metric,
                           result.epochs_done, result.baseline, result.improved, len(req.val_names or []), guarded)
    if result.stopped != "cancelled" and not result.improved:
        discard_model(req)  # `out` holds the start model unchanged: nothing to keep
    return outcome


def keep_model(req: TrainRequest, progress=None, cancel=None) -> str:
    """Add the trained checkpoint to the user's models; its name."""
    from maskwork.core.models.catalog.user_models import register_checkpoint
    from maskwork.core.models.predictor_cache import PREDICTORS

    name = register_checkpoint(req.out, name=req.name).name
    PREDICTORS.forget(name)  # a model retrained under the same name must not run its old weights
    return name


def discard_model(req: TrainRequest) -> None:
    """A cancelled run the user does not keep: its checkpoints go (the best epoch and the resume file)."""
    for path in (req.out, req.out.with_suffix(".last.pt")):
        path.unlink(missing_ok=True)


def default_start(models: list[tuple], classes, in_use: str | None) -> str | None:
    """The model training starts from: the model in use when it knows the project's classes, else the listed
    model that knows most of them (core.models.catalog.defaults.training_start); None (scratch) when no model knows
    any. `models`: choices()'s rows."""
    from maskwork.core.models.catalog.defaults import training_start

    return training_start([(m[0], m[3]) for m in models], classes, in_use)[0]


def start_note(name: str | None, model_classes: set[str], classes) -> str:
    """One sentence on the chosen start: which of the project's classes the model knows, or what to expect."""
    from maskwork.core.models.catalog.defaults import class_names

    wanted = class_names(classes)
    known = sorted(model_classes & wanted)
    what = ", ".join(sorted(wanted)[:5]) or "the project's classes"
    if name is not None and known:
        return f"{name} knows {', '.join(known[:5])}: training fine-tunes it."
    expect = ("Expect scores near 0 for the first epochs: it takes many corrected images and a long run to learn "
              f"{what}.")
    if name is not None:
        return f"{name} knows none of {what} (it was trained on other images). {expect}"
    return f"No model here knows {what}: training starts from random weights. {expect}"
