"""What a training run records and resumes from (core.training.loop): the checkpoint's training record, the
resumable state's reading, the random generator's state as plain lists, where the run ran."""
from __future__ import annotations

import platform
import time
from dataclasses import fields
from pathlib import Path

import torch

from maskwork.core.domain.errors import InputError
from maskwork.core.models.torch_models.checkpoint import read_checkpoint
from maskwork.core.training.datasets import TrainData


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA), torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    return f"{cpu} CPU, {torch.get_num_threads()} threads, torch {torch.__version__}"


def training_record(cfg, train_d, val_d, epoch, history, device, seconds) -> dict:
    plain = {f.name: getattr(cfg, f.name) for f in fields(cfg) if f.name not in ("data", "val", "replay", "guard")}
    conf = {k: (str(v) if isinstance(v, Path) else v) for k, v in plain.items()}
    conf["aug_scale"], conf["freeze"] = list(cfg.aug_scale), list(cfg.freeze)
    conf["replay"], conf["guard"] = source(cfg.replay), source(cfg.guard)
    return {"data": train_d.source, "train_images": len(train_d.items), "val": val_d.source,
            "val_images": [it.name for it in val_d.items][:200], "epochs": epoch, "seed": cfg.seed,
            "command": cfg.command, "machine": machine(device), "seconds": round(seconds, 1),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "config": conf,
            "history": [{k: v for k, v in r.items() if k != "metrics"} for r in history]}


def source(spec) -> str | None:
    return spec.source if isinstance(spec, TrainData) else (None if spec is None else str(spec))


def cpu_state(sd: dict) -> dict:
    return {k: v.detach().cpu() for k, v in sd.items()}


def read_last(path: Path, arch: str) -> dict:
    if not path.is_file():
        raise InputError(f"cannot resume: {path} does not exist. Start without --resume, or give the --out of "
                         "the earlier run")
    state = read_checkpoint(path)
    if "optimizer" not in state.get("extra", {}):
        raise InputError(f"cannot resume from {path}: it holds no optimizer state (a 'best' checkpoint?); "
                         "resume from the .last.pt file of the run")
    if state["arch"] != arch:
        raise InputError(f"cannot resume: {path} was trained as {state['arch']}, not {arch}")
    return state


def rng_to_list(state) -> list:
    return [state[0], list(state[1]), state[2]]


def rng_from_list(state) -> tuple:
    return (state[0], tuple(state[1]), state[2])
