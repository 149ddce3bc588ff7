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


def choices(task: str, progress=None, cancel=None) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """Architectures of the project's task, and models to start from as (name, TrainConfig.init value,
    architecture): built-in models by name, the user's own by checkpoint path (imports torch)."""
    from maskwork.core.models.architectures import ARCHITECTURES
    from maskwork.core.models.registry import MODELS, all_models, weights_file

    archs = [(a.name, a.description) for a in ARCHITECTURES.values() if a.task == task]
    models = [(s.name, s.name if s.name in MODELS else str(weights_file(s)), s.arch)
              for s in all_models() if s.task == task and s.backend == "torch"]  # ONNX files cannot be trained
    return archs, models


def run_training(req: TrainRequest, on_epoch, progress=None, cancel=None) -> TrainOutcome:
    from maskwork.core.models.user_models import register_checkpoint
    from maskwork.core.training.loop import TrainConfig, train

    req.out.parent.mkdir(parents=True, exist_ok=True)
    cfg = TrainConfig(arch=req.arch, data=str(req.project_root), out=str(req.out), val_fraction=req.val_share,
                      epochs=req.epochs, init=req.start_from, crop=req.crop, tile=req.crop,
                      batch_size=req.batch_size, warmup_steps=req.warmup_steps, lr=req.lr,
                      steps_per_epoch=req.steps_per_epoch,
                      command=f"GUI: train {req.arch} on {req.project_root}")
    result = train(cfg, progress=progress, cancel=cancel, on_epoch=on_epoch)
    name = None
    if req.out.is_file():  # the best epoch so far, also after a cancel
        from maskwork.core.models.predictor_cache import PREDICTORS

        name = register_checkpoint(req.out, name=req.name).name
        PREDICTORS.forget(name)  # a model retrained under the same name must not run its old weights
    return TrainOutcome(name, str(req.out), result.stopped, float(result.best_value), result.metric,
                        result.epochs_done)


def default_start(model_names: list[str], task: str, classes, in_use: str | None) -> str | None:
    """The model training starts from: the one in use when it can be trained, else the bundled model
    of the project's task (the one fitting its classes first); None (scratch) when there is neither."""
    from maskwork.core.models.defaults import BUNDLED, default_model_for

    fitting = default_model_for(task, classes) if classes is not None else None
    bundled = [name for name, model_task, _classes in BUNDLED if model_task == task]
    for name in (in_use, fitting, *bundled):
        if name and name in model_names:
            return name
    return None
