"""Train a segmentation model: `train(config, progress=None, cancel=None, on_epoch=None) -> TrainResult`.

TrainConfig (all plain values, so the GUI dialog can fill it from widgets):
  arch           key of core.models.torch_models.architectures.ARCHITECTURES (its task picks semantic or instance)
  data           training data: COCO .json, Maskwork project folder, images/+masks/ folder, or a TrainData
  val            validation data (same kinds) | None; then `val_names` (names or prefixes such as "tile7_")
                 or else `val_fraction` of `data` (seeded) is held out
  epochs, steps_per_epoch (None: one pass over the training images, at least min_steps), batch_size, crop (px),
                 lr, weight_decay
  seed           fixes the split, the sampling and the augmentation
  out            best checkpoint path (core.models.torch_models.checkpoint format); `last_out` (default <out>.last.pt)
                 holds weights + optimizer + epoch + history so `resume=True` continues where it stopped
  init           None (from scratch), a registry model name or a checkpoint path; heads whose shape
                 differs (other class count) are left freshly initialised
  device         "cpu" | "cuda" | "auto";  threads: torch CPU threads (None: leave as is)
  keep_start     score the start model (init) on the validation images before training and save an epoch
                 only when it beats that; when none does, `out` holds the start model (result.improved False)
  freeze_bn      BatchNorm layers keep the start model's statistics (eval mode) while training
  bn_stats       (semantic, BatchNorm training) "recalibrate": statistics re-estimated on training batches each
                 epoch; "shift" (with init): the start model's, moved by what the training changed (batchnorm.py)
  freeze         parameter name prefixes that are not trained (e.g. "backbone.body." keeps the ResNet)
  replay         data the start model was trained on (same kinds as `data`) mixed into the batches so a
                 fine-tune does not forget it; `replay_share` of the crops come from it (0: none)
  guard          (with keep_start) images the start model does well on that this run does not train on (e.g. its
                 own training images outside `replay`): an epoch is kept only if it also scores at least the start
                 model's score there minus `guard_tolerance`, so a few held-out images cannot accept an epoch
                 that got worse on everything else
  calibrate_images  (semantic) before each validation, per-class logit offsets are tuned for mean IoU on up to
                 this many training images (replay included) and added to the model's logit bias (calibrate.py;
                 0: not tuned); the held-out images and the guard judge the tuned model
  optimizer      "adamw" (training from scratch) or "sgd" (momentum 0.9; steps follow the gradient's size, where
                 AdamW's first steps move every weight by about the learning rate)
  min_size, max_size, detections_per_img    (instance) the resize and the detection cap the predictor
                 applies; recorded in the checkpoint "input"
  tile, scale    (semantic) tile size and image scale the predictor applies; recorded likewise
  aug_scale      (semantic) random scale range of the crops
  max_val_images validate on at most this many images per epoch (None: all)
  time_limit_s   stop after this much training time (the epoch in progress is validated and saved)
  command        the command line that started the run, recorded in the checkpoint

Callbacks: `progress(done_steps, total_steps, message)`; `cancel` (CancelToken) is checked at every
step - a cancelled run returns with `stopped="cancelled"`, keeping the checkpoints of finished epochs;
`on_epoch(record)` after each validated epoch with record = {"epoch", "steps", "train_loss",
"metric" (name), "value", "metrics" (dict), "best" (bool), "seconds", "lr"} - the GUI plots it live.
With keep_start a first record of epoch 0 scores the start model (train_loss None, "baseline" True).

TrainResult: best_value, best_epoch, metric, history (list of records), out, last_out, stopped
("done" | "cancelled" | "time limit"), epochs_done, baseline (the start model's score or None), improved.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from maskwork.core.domain.annotation import MAX_CLASSES
from maskwork.core.domain.errors import Cancelled, InputError, ModelError
from maskwork.core.domain.progress import CancelToken, ProgressFn, report
from maskwork.core.models.torch_models.architectures import get_architecture
from maskwork.core.models.torch_models.checkpoint import read_checkpoint, save_checkpoint
from maskwork.core.training import batchnorm as bn
from maskwork.core.training import calibrate, optim
from maskwork.core.training import instance as inst
from maskwork.core.training import run_state as rs
from maskwork.core.training import semantic as sem
from maskwork.core.training.datasets import TrainData, load_data, mix_items, split, split_by_names
from maskwork.core.training.labelled import require_labels


@dataclass
class TrainConfig:
    arch: str
    data: object  # str | Path | TrainData
    out: str
    val: object = None
    val_names: list | None = None
    val_fraction: float = 0.15
    epochs: int = 10
    steps_per_epoch: int | None = None
    min_steps: int = 0
    batch_size: int = 4
    crop: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    last_out: str | None = None
    resume: bool = False
    init: str | None = None
    device: str = "auto"
    threads: int | None = None
    min_size: int = 512
    max_size: int = 1024
    detections_per_img: int = inst.MAX_DETS
    tile: int = 512
    scale: float = 1.0
    aug_scale: tuple = (0.75, 1.25)
    max_val_images: int | None = None
    time_limit_s: float | None = None
    warmup_steps: int = 50
    bn_batches: int = 16  # semantic: BatchNorm statistics re-estimated on this many batches before validating
    freeze_bn: bool = False
    bn_stats: str = "recalibrate"  # semantic, BatchNorm training: "recalibrate" or (fine-tune) "shift"
    keep_start: bool = False
    freeze: tuple = ()
    replay: object = None
    replay_share: float = 0.0
    guard: object = None
    guard_tolerance: float = 0.0
    optimizer: str = "adamw"  # key of optim.OPTIMIZERS
    calibrate_images: int = 0
    command: str = ""

    def last_path(self) -> Path:
        return Path(self.last_out) if self.last_out else Path(self.out).with_suffix(".last.pt")


@dataclass
class TrainResult:
    best_value: float
    best_epoch: int
    metric: str
    history: list = field(default_factory=list)
    out: str = ""
    last_out: str = ""
    stopped: str = "done"
    epochs_done: int = 0
    baseline: float | None = None
    notes: list[str] = field(default_factory=list)  # what the run left out and why (e.g. the replay)

    @property
    def improved(self) -> bool:
        """A trained epoch was saved: no baseline, or an epoch beat the start model."""
        return self.best_epoch > 0


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("device cuda was asked for but no CUDA GPU is available here; use --device cpu")
    return torch.device(name)


def _data(spec, task: str) -> TrainData:
    return spec if isinstance(spec, TrainData) else load_data(spec, task)


def prepare_data(cfg: TrainConfig, task: str) -> tuple[TrainData, TrainData]:
    data = _data(cfg.data, task)
    if cfg.val is not None:
        train_d, val_d = data, _data(cfg.val, task)
    elif cfg.val_names:
        train_d, val_d = split_by_names(data, cfg.val_names)
    else:
        train_d, val_d = split(data, cfg.val_fraction, cfg.seed)
    if not train_d.items:
        raise InputError(f"no training images left in {data.source} after holding out the validation images")
    if cfg.max_val_images and len(val_d.items) > cfg.max_val_images:
        val_d.items = val_d.items[:cfg.max_val_images]
    return train_d, val_d


def build(cfg: TrainConfig, num_classes: int) -> torch.nn.Module:
    model = get_architecture(cfg.arch).build(num_classes)
    if cfg.init:
        sd = _init_state(cfg.init)
        own = model.state_dict()
        fitting = {k: v for k, v in sd.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
        if not fitting:
            raise ModelError(f"{cfg.init} shares no weights with architecture {cfg.arch}; pick a model of the "
                             "same architecture to start from, or train from scratch")
        model.load_state_dict(fitting, strict=False)  # heads of another class count stay fresh
    return model


def _init_state(init: str) -> dict:
    if Path(init).is_file():
        return read_checkpoint(init)["state_dict"]
    from maskwork.core.models.catalog.registry import get_model  # unknown names get a "did you mean" ModelError
    from maskwork.core.models.catalog.weights import load_model

    return load_model(get_model(init)).state_dict()


def _save(path, cfg: TrainConfig, task: str, classes, model, training: dict, extra: dict | None = None) -> None:
    save_checkpoint(path, arch=cfg.arch, task=task, classes=classes, state_dict=rs.cpu_state(model.state_dict()),
                    training=training, input_spec=_input_spec(cfg, task), extra=extra)


def _input_spec(cfg: TrainConfig, task: str) -> dict:
    if task == "instance":
        return {"min_size": cfg.min_size, "max_size": cfg.max_size, "detections_per_img": cfg.detections_per_img}
    return {"tile": cfg.tile, "overlap": cfg.tile // 8, "scale": cfg.scale, "mean": list(sem.MEAN),
            "std": list(sem.STD)}


def train(cfg: TrainConfig, progress: ProgressFn | None = None, cancel: CancelToken | None = None,
          on_epoch=None) -> TrainResult:
    arch = get_architecture(cfg.arch)
    task = arch.task
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    train_d, val_d = prepare_data(cfg, task)
    classes = train_d.classes
    num_classes = max(classes.ids()) + 1
    if num_classes > MAX_CLASSES:  # the model's output has a channel per id up to the largest
        raise InputError(f"the training data ({train_d.source}) has class id {num_classes - 1}, above the "
                         f"{MAX_CLASSES:,} classes Maskwork trains; renumber the classes from 1.")
    ignore = train_d.ignore_index
    require_labels(train_d, task, ignore)  # all-unlabeled masks: say so, not "diverged" (core/training/labelled.py)
    random.seed(cfg.seed), np.random.seed(cfg.seed), torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)

    if cfg.optimizer not in optim.OPTIMIZERS:
        raise InputError(f"unknown optimizer {cfg.optimizer!r}; use one of {', '.join(optim.OPTIMIZERS)}.")
    if cfg.bn_stats not in ("recalibrate", "shift"):
        raise InputError(f"unknown bn_stats {cfg.bn_stats!r}; use recalibrate or shift.")
    if cfg.calibrate_images < 0:
        raise InputError(f"calibrate_images (--calibrate-images) {cfg.calibrate_images} is negative; give 0 "
                         "(off) or a number of images.")
    model = build(cfg, num_classes).to(device)
    for name, p in model.named_parameters():
        if any(name.startswith(prefix) for prefix in cfg.freeze):
            p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    batches, replay_note = _with_replay(cfg, task, train_d)
    if replay_note:  # the record and the result say the replay was left out, and why
        cfg = replace(cfg, replay=None, replay_share=0.0)
    guard_d, guard_note = _guard(cfg, task, train_d)
    shift = (bn.Shift(model, batches, cfg.bn_batches, cfg.batch_size, cfg.crop, ignore, _aug_scale(cfg), device,
                      cfg.seed * 1000) if task == "semantic" and cfg.bn_stats == "shift" and cfg.init
             and cfg.bn_batches and not cfg.freeze_bn else None)  # measured on the start weights, before a resume
    if guard_note:
        cfg = replace(cfg, guard=None)
    tuned_on, tune_note = calibrate.plan(cfg.arch, batches.items, cfg.calibrate_images if task == "semantic" else 0,
                                         cfg.seed)
    opt = optim.OPTIMIZERS[cfg.optimizer](params, cfg.lr, cfg.weight_decay)
    steps = cfg.steps_per_epoch or max(1, cfg.min_steps, math.ceil(len(train_d.items) / cfg.batch_size))
    total = steps * cfg.epochs
    sched = optim.LearningRate(opt, cfg.lr, cfg.warmup_steps, total, cfg.time_limit_s)
    metric = "miou" if task == "semantic" else "ap"
    history, best, best_epoch, start_epoch = [], -1.0, 0, 0
    elapsed_before, baseline, guard_floor = 0.0, None, None

    last = cfg.last_path()
    if cfg.resume:
        state = rs.read_last(last, cfg.arch)
        model.load_state_dict(state["state_dict"])
        if state["extra"].get("offsets"):  # the last epoch was saved with its offsets: train on without them
            calibrate.shift_bias(model, cfg.arch, -np.asarray(state["extra"]["offsets"]))
        opt.load_state_dict(state["extra"]["optimizer"])
        run = state["extra"]
        start_epoch, history, best, best_epoch = run["epoch"], run["history"], run["best"], run["best_epoch"]
        elapsed_before = run.get("seconds", 0.0)
        baseline, guard_floor = run.get("baseline"), run.get("guard_floor")
        rng.setstate(rs.rng_from_list(run["rng"]))
        torch.manual_seed(cfg.seed + start_epoch)

    result = TrainResult(best, best_epoch, metric, history, str(cfg.out), str(last), "done", start_epoch, baseline,
                         [note for note in (replay_note, guard_note, tune_note) if note])
    t_start = time.monotonic() - elapsed_before
    if cfg.keep_start and cfg.init and not cfg.resume:
        try:  # the start model is the one to beat: scored and saved as `out` before any step
            scores = _validate(cfg, task, model, val_d, num_classes, ignore, device, cancel)
            guard_value = _guard_value(cfg, task, model, guard_d, num_classes, ignore, device, cancel, metric)
        except Cancelled:
            result.stopped = "cancelled"
            return result
        best = baseline = result.best_value = result.baseline = scores[metric]
        guard_floor = None if guard_value is None else guard_value - cfg.guard_tolerance
        record = {"epoch": 0, "steps": 0, "train_loss": None, "metric": metric, "value": best, "baseline": True,
                  "metrics": {k: v for k, v in scores.items() if k != "confusion"}, "best": True, "seconds": 0.0,
                  "guard": guard_value}
        history.append(record)
        training = rs.training_record(cfg, train_d, val_d, 0, history, device, 0.0)
        training["best_epoch"], training["metrics"], training["start_model_kept"] = 0, record["metrics"], True
        _save(cfg.out, cfg, task, classes, model, training)
        if on_epoch is not None:
            on_epoch(record)
    for epoch in range(start_epoch + 1, cfg.epochs + 1):
        t_epoch = time.monotonic()
        try:
            loss = _train_epoch(cfg, task, model, opt, sched, batches, rng, device, ignore, steps,
                                (epoch - 1) * steps, total, progress, cancel, t_start)
        except Cancelled:
            result.stopped = "cancelled"
            return result
        timed_out = loss is not None and isinstance(loss, tuple)
        loss_value = loss[0] if timed_out else loss
        if shift is not None:  # fine-tune: the start model's statistics, moved by what the weights changed
            shift.apply(model)
        elif task == "semantic" and cfg.bn_batches and not cfg.freeze_bn:
            bn.recalibrate(model, batches, cfg.bn_batches, cfg.batch_size, cfg.crop, ignore, _aug_scale(cfg), device,
                           random.Random(cfg.seed * 1000 + epoch))
        try:
            tuned = (calibrate.tune(model, cfg.arch, tuned_on, cfg.tile, cfg.scale, ignore, cfg.seed, cancel, device)
                     if tuned_on else None)
            scores = _validate(cfg, task, model, val_d, num_classes, ignore, device, cancel)
            guard_value = (_guard_value(cfg, task, model, guard_d, num_classes, ignore, device, cancel, metric)
                           if guard_floor is not None else None)
        except Cancelled:
            result.stopped = "cancelled"
            return result
        value = scores[metric]
        guarded = guard_value is not None and guard_floor is not None and guard_value < guard_floor  # fell: not kept
        is_best = value > best and not guarded
        record = {"epoch": epoch, "steps": epoch * steps, "train_loss": loss_value, "metric": metric,
                  "value": value, "metrics": {k: v for k, v in scores.items() if k != "confusion"},
                  "best": is_best, "seconds": round(time.monotonic() - t_epoch, 1), "lr": opt.param_groups[0]["lr"],
                  "guard": guard_value, "guarded": guarded, "calibration": tuned}
        history.append(record)
        training = rs.training_record(cfg, train_d, val_d, epoch, history, device, time.monotonic() - t_start)
        if is_best:
            best, best_epoch = value, epoch
            training["best_epoch"], training["metrics"] = epoch, record["metrics"]
            _save(cfg.out, cfg, task, classes, model, training)
        _save(last, cfg, task, classes, model, training,
              extra={"optimizer": opt.state_dict(), "epoch": epoch, "history": history, "best": best,
                     "best_epoch": best_epoch, "baseline": baseline, "guard_floor": guard_floor,
                     "offsets": tuned and tuned["offsets"], "seconds": time.monotonic() - t_start,
                     "rng": rs.rng_to_list(rng.getstate())})
        if tuned:  # the next epoch trains the weights as they were, not the tuned bias
            calibrate.shift_bias(model, cfg.arch, -np.asarray(tuned["offsets"]))
        result.best_value, result.best_epoch, result.epochs_done = best, best_epoch, epoch
        if on_epoch is not None:
            on_epoch(record)
        if timed_out:
            result.stopped = "time limit"
            break
    return result


def _with_replay(cfg: TrainConfig, task: str, train_d: TrainData) -> tuple[TrainData, str]:
    """The data batches are drawn from (the training images, plus the replay images at `replay_share`) and, when
    the replay is left out because its classes are not the training data's (a user's own classes on a bundled
    model), the sentence that says so."""
    if cfg.replay is None or cfg.replay_share <= 0:
        return train_d, ""
    replay = _data(cfg.replay, task)
    if replay.classes.names() != train_d.classes.names():
        return train_d, (f"not replaying {replay.source}: its classes {replay.classes.names()} are not the "
                         f"training data's {train_d.classes.names()}")
    return TrainData(task, train_d.classes, mix_items(train_d.items, replay.items, cfg.replay_share),
                     train_d.source, train_d.ignore_index, train_d.extra), ""


def _guard(cfg: TrainConfig, task: str, train_d: TrainData) -> tuple[TrainData | None, str]:
    """The guard images (None without keep_start and a start model, or when their classes are not the training
    data's: then with the sentence that says so)."""
    if cfg.guard is None or not (cfg.keep_start and cfg.init):
        return None, ""
    guard = _data(cfg.guard, task)
    if guard.classes.names() != train_d.classes.names():
        return None, (f"not guarding with {guard.source}: its classes {guard.classes.names()} are not the "
                      f"training data's {train_d.classes.names()}")
    return guard, ""


def _guard_value(cfg, task, model, guard_d, num_classes, ignore, device, cancel, metric) -> float | None:
    if guard_d is None or not guard_d.items:
        return None
    return float(_validate(cfg, task, model, guard_d, num_classes, ignore, device, cancel)[metric])


def _train_epoch(cfg, task, model, opt, sched, data, rng, device, ignore, steps, done, total, progress, cancel,
                 t_start):
    """Mean loss of the epoch; a 1-tuple (mean loss,) when the time limit stopped it early."""
    if task == "instance":
        inst.set_train_mode(model, True, cfg.min_size, cfg.max_size)
    else:
        model.train()
    for m in bn.norms(model) if cfg.freeze_bn else ():  # keep the start model's BatchNorm statistics
        m.eval()
    losses = []
    for step in range(steps):
        if cancel is not None:
            cancel.check()
        if task == "instance":
            images, targets = inst.make_batch(data.items, rng, cfg.batch_size, cfg.crop, cfg.min_size,
                                              cfg.max_size, device)
            loss, _parts = inst.loss_fn(model, images, targets)
        else:
            images, targets = sem.make_batch(data.items, rng, cfg.batch_size, cfg.crop, ignore, _aug_scale(cfg),
                                             device)
            loss = sem.loss_fn(model, images, targets)
        if not torch.isfinite(loss):
            raise ModelError(f"training diverged at step {done + step + 1} (loss {float(loss)}); lower the learning "
                             f"rate (now {cfg.lr}) and resume from the last checkpoint")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        sched.set(done + step, time.monotonic() - t_start)
        opt.step()
        losses.append(float(loss.detach()))
        report(progress, done + step + 1, total, f"epoch {done // steps + 1} loss {np.mean(losses[-20:]):.3f}")
        if cfg.time_limit_s and time.monotonic() - t_start > cfg.time_limit_s:
            return (float(np.mean(losses)),)
    return float(np.mean(losses))


def _aug_scale(cfg: TrainConfig) -> tuple[float, float]:
    return cfg.aug_scale[0] * cfg.scale, cfg.aug_scale[1] * cfg.scale


def _validate(cfg, task, model, val_d, num_classes, ignore, device, cancel) -> dict:
    if task == "instance":
        return inst.validate(model, val_d.items, val_d.classes, cfg.min_size, cfg.max_size, device, cancel)
    return sem.validate(model, val_d.items, num_classes, ignore, cfg.tile, device, cancel, scale=cfg.scale)
