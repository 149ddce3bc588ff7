"""What the train dialog runs in worker Jobs: thin calls into core.training and the model registry."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from maskwork.core.annotation import Status
from maskwork.core.errors import MaskworkError

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
    batch_size: int = 4
    steps_per_epoch: int | None = None  # None: one pass over the training images
    lr: float = 1e-3
    warmup_steps: int = 20

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

    @property
    def summary(self) -> str:
        if self.model_name is None:
            return "No epoch finished, so no model was saved."
        return (f"{self.stopped}: {self.epochs_done} epochs, best {self.metric} {self.best_value:.3f}. "
                f"Saved as model '{self.model_name}' ({self.checkpoint}).")


def safe_name(text: str) -> str:
    """A model name usable as a file name: letters, digits, '.', '_' and '-' only."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-.")
    return name or "my-model"


def count_corrected(project) -> int:
    """Corrected images; one whose annotation cannot be read (its file replaced by one of another size, damaged)
    is not counted here: training names it and says what to do."""
    count = 0
    for name in project.image_names():
        try:
            count += project.annotation(name).status == Status.CORRECTED
        except MaskworkError:
            continue
    return count


def choices(task: str, progress=None, cancel=None) -> tuple[list[tuple[str, str]], list[tuple]]:
    """Architectures of the project's task, and models to start from as (name, TrainConfig.init value,
    architecture, class names): built-in models by name, the user's own by checkpoint path (imports torch)."""
    from maskwork.core.models.architectures import ARCHITECTURES
    from maskwork.core.models.defaults import class_names
    from maskwork.core.models.registry import MODELS, all_models, weights_file

    archs = [(a.name, a.description) for a in ARCHITECTURES.values() if a.task == task]
    models = [(s.name, s.name if s.name in MODELS else str(weights_file(s)), s.arch, class_names(s.classes))
              for s in all_models() if s.task == task and s.backend == "torch"]  # ONNX files cannot be trained
    return archs, models


def run_training(req: TrainRequest, on_epoch, progress=None, cancel=None) -> TrainOutcome:
    from maskwork.core.training.loop import TrainConfig, train

    req.out.parent.mkdir(parents=True, exist_ok=True)
    cfg = TrainConfig(arch=req.arch, data=str(req.project_root), out=str(req.out), val_fraction=req.val_share,
                      epochs=req.epochs, init=req.start_from, crop=req.crop, tile=req.crop,
                      batch_size=req.batch_size, warmup_steps=req.warmup_steps, lr=req.lr,
                      steps_per_epoch=req.steps_per_epoch,
                      command=f"GUI: train {req.arch} on {req.project_root}")
    result = train(cfg, progress=progress, cancel=cancel, on_epoch=on_epoch)
    name = None
    if req.out.is_file() and result.stopped != "cancelled":  # a cancelled run: the user keeps it or not
        name = keep_model(req)
    return TrainOutcome(name, str(req.out), result.stopped, float(result.best_value), result.metric,
                        result.epochs_done)


def keep_model(req: TrainRequest, progress=None, cancel=None) -> str:
    """Add the trained checkpoint to the user's models; its name."""
    from maskwork.core.models.predictor_cache import PREDICTORS
    from maskwork.core.models.user_models import register_checkpoint

    name = register_checkpoint(req.out, name=req.name).name
    PREDICTORS.forget(name)  # a model retrained under the same name must not run its old weights
    return name


def discard_model(req: TrainRequest) -> None:
    """A cancelled run the user does not keep: its checkpoints go (the best epoch and the resume file)."""
    for path in (req.out, req.out.with_suffix(".last.pt")):
        path.unlink(missing_ok=True)


def default_start(models: list[tuple], classes, in_use: str | None) -> str | None:
    """The model training starts from: the model in use when it knows the project's classes, else the listed
    model that knows most of them (core.models.defaults.training_start); None (scratch) when no model knows
    any. `models`: choices()'s rows."""
    from maskwork.core.models.defaults import training_start

    return training_start([(m[0], m[3]) for m in models], classes, in_use)[0]


def start_note(name: str | None, model_classes: set[str], classes) -> str:
    """One sentence on the chosen start: which of the project's classes the model knows, or what to expect."""
    from maskwork.core.models.defaults import class_names

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
