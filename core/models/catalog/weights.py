"""Find, download and load a model's weights, with messages a user can act on.

Torchvision weights live in torch hub's cache (`torch.hub.get_dir()/checkpoints/<file>`, the file
name of the weights enum's URL), so a file fetched once, or copied there by hand, works offline.
Bundled and user checkpoints are read with core.models.torch_models.checkpoint.read_checkpoint (weights_only).
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.errors import ModelError
from maskwork.core.domain.progress import CancelToken, ProgressFn, check
from maskwork.core.models.catalog import availability
from maskwork.core.models.catalog.download import CHUNK as CHUNK  # the chunk size tests size their files by
from maskwork.core.models.catalog.download import download_file
from maskwork.core.models.catalog.specs import BundledFile, ModelSpec, TorchvisionWeights, weights_file
from maskwork.core.models.catalog.torchvision_lookup import torchvision_url
from maskwork.core.models.torch_models.architectures import ARCHITECTURES
from maskwork.core.models.torch_models.checkpoint import read_checkpoint
from maskwork.core.store import bounded


def hub_checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_path(spec: ModelSpec) -> Path:
    """The file the weights of `spec` are (or will be) read from."""
    if isinstance(spec.source, TorchvisionWeights):
        return hub_checkpoint_dir() / os.path.basename(urlparse(torchvision_url(spec.source)).path)
    path = weights_file(spec)
    assert path is not None  # every source that is not torchvision's names its file
    return path


def model_state(spec: ModelSpec) -> str:
    """"cached" | "bundled" | "needs download" | "missing" (the model list asks core.models.catalog.availability,
    which answers the same without torch)."""
    return availability.state(spec, weights_path(spec).is_file())


def fetch_weights(spec: ModelSpec, progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                  allow_download: bool | None = None) -> Path:
    """Path of the weights file, downloading torchvision weights when allowed (MASKWORK_OFFLINE=1 forbids)."""
    path = weights_path(spec)
    if path.is_file():
        return path
    if isinstance(spec.source, TorchvisionWeights):
        if allow_download is None:
            allow_download = os.environ.get("MASKWORK_OFFLINE", "") in ("", "0")
        if not allow_download:
            raise ModelError(f"the weights of {spec.name} are not on this computer and downloads are off. Put "
                             f"{path.name} into {path.parent} (from {torchvision_url(spec.source)}).")
        return download_file(torchvision_url(spec.source), path, progress, cancel)
    if isinstance(spec.source, BundledFile):
        raise ModelError(f"the bundled model {spec.name} is missing: {path.name} is not in {path.parent}. "
                         "Reinstall Maskwork or copy the file there.")
    raise ModelError(f"the checkpoint of your model {spec.name} is gone: {path} does not exist. Put it back or "
                     "register the new location (maskwork register-model).")


def read_weights(spec: ModelSpec, path: Path) -> dict:
    """The file's contents as read_checkpoint returns them: a Maskwork dict or {"state_dict": sd}."""
    if isinstance(spec.source, TorchvisionWeights):
        vetted = bounded.check_file(path, limit=bounded.MODEL_FILE, what="weights file")
        try:
            obj = torch.load(vetted, map_location="cpu", weights_only=True)
        except Exception as exc:  # truncated download, foreign file under the expected name
            raise ModelError(f"{path} is not a readable PyTorch weights file ({type(exc).__name__}). Delete it so "
                             f"Maskwork downloads it again, or replace it with {path.name} from "
                             f"{torchvision_url(spec.source)}.") from exc
        if not isinstance(obj, dict):
            raise ModelError(f"{path} holds no state dict; delete it so Maskwork downloads it again.")
        return {"state_dict": obj}
    return read_checkpoint(path)


def read_state_dict(spec: ModelSpec, path: Path) -> dict:
    return read_weights(spec, path)["state_dict"]


def build_model(spec: ModelSpec) -> nn.Module:
    """The architecture of `spec` with random weights, shaped for its classes."""
    arch = ARCHITECTURES.get(spec.arch)
    if arch is None:
        raise ModelError(f"model {spec.name!r} needs architecture {spec.arch!r}, unknown to this Maskwork "
                         f"(known: {', '.join(ARCHITECTURES)}).")
    model = arch.build(spec.num_classes)
    eps = getattr(spec.source, "frozen_bn_eps", None)
    if eps is not None:
        _freeze_batchnorm(model, eps)
    return model


def _freeze_batchnorm(model: nn.Module, eps: float) -> None:
    """Swap BatchNorm2d for FrozenBatchNorm2d(eps) as torchvision does for its pretrained v1 detector."""
    from torchvision.ops.misc import FrozenBatchNorm2d

    for name, child in model.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(model, name, FrozenBatchNorm2d(child.num_features, eps=eps))
        else:
            _freeze_batchnorm(child, eps)


def _examples(keys: list[str], n: int = 3) -> str:
    return ", ".join(keys[:n]) + (f" (+{len(keys) - n} more)" if len(keys) > n else "")


def _shape(t) -> tuple:
    return tuple(t.shape)


def _class_dependent_keys(arch: str, own: dict, num_classes: int) -> set[str]:
    """Keys of `arch` whose shape changes with the number of classes (the head), found by building it once more."""
    if arch not in ARCHITECTURES or num_classes < 1:
        return set()
    other = ARCHITECTURES[arch].build(num_classes + 1).state_dict()
    return {k for k, v in own.items() if k in other and _shape(other[k]) != _shape(v)}


def _class_count_message(origin: str, arch: str, sd: dict, own: dict, bad_shape: list[str], classes: ClassList,
                         classes_from: str, fix: str | None) -> str:
    num_classes = max(classes.ids()) + 1
    layer = next((k for k in bad_shape if _shape(own[k])[:1] == (num_classes,)), bad_shape[0])
    n = int(sd[layer].shape[0]) if _shape(own[layer])[:1] == (num_classes,) else None
    has = f"{n} classes" if n is not None else "another number of classes"
    if len(classes) == num_classes:
        names = f"names {num_classes}"
    else:  # ids with gaps (COCO): the head has one output per id up to the highest
        names = f"needs {num_classes} (class ids up to {num_classes - 1})"
    if fix is None:
        fix = (f"save it again with the {n}-class list it was trained on, or retrain it for these {num_classes} "
               "classes") if n is not None else "save it again with the class list it was trained on"
    fix = fix.replace("{n}", str(n) if n is not None else "as many")
    return (f"{origin}: the checkpoint's head has {has} but {classes_from} {names} ({arch} layer {layer}: "
            f"{_shape(sd[layer])} in the file, {_shape(own[layer])} here); {fix}.")


def fit_state_dict(model: nn.Module, state_dict: dict, arch: str, origin: str, classes: ClassList | None = None,
                   classes_from: str = "its class list", fix: str | None = None) -> dict:
    """The state dict cleaned for `model`, or ModelError saying in one sentence how it does not fit.

    Same keys with other shapes only in the head (the layers sized by the class count) is a class-count
    mismatch, reported with the layer, both shapes and both counts; anything else (missing or unexpected
    keys, other shapes elsewhere) is another architecture. `classes` is the class list `model` was built for,
    `classes_from` says where it comes from, `fix` what to do about a class-count mismatch ("{n}": the
    head's class count)."""
    sd = {k.removeprefix("module."): v for k, v in state_dict.items()}  # saved from DataParallel
    if getattr(model, "aux_classifier", None) is None:
        sd = {k: v for k, v in sd.items() if not k.startswith("aux_classifier.")}  # training-only head
    own = model.state_dict()
    benign = "num_batches_tracked"  # BatchNorm counter, absent from FrozenBatchNorm and old files
    missing = [k for k in own if k not in sd and not k.endswith(benign)]
    unexpected = [k for k in sd if k not in own and not k.endswith(benign)]
    bad_shape = [k for k in own if k in sd and _shape(sd[k]) != _shape(own[k])]
    if bad_shape and not missing and not unexpected and classes is not None and len(classes):
        head = _class_dependent_keys(arch, own, max(classes.ids()) + 1)
        if set(bad_shape) <= head:
            raise ModelError(_class_count_message(origin, arch, sd, own, bad_shape, classes, classes_from, fix))
    if missing or unexpected or bad_shape:
        parts = []
        if missing:
            parts.append(f"{len(missing)} weights missing ({_examples(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected ({_examples(unexpected)})")
        if bad_shape:
            k = bad_shape[0]
            more = f" and {len(bad_shape) - 1} more" if len(bad_shape) > 1 else ""
            parts.append(f"{len(bad_shape)} of another shape ({k}: {_shape(sd[k])} in the file, "
                         f"{_shape(own[k])} here{more})")
        raise ModelError(f"{origin} does not fit architecture {arch}: {', '.join(parts)}; it was saved from a "
                         f"different architecture; register it with the matching one (known: "
                         f"{', '.join(ARCHITECTURES)}).")
    return sd


def load_model(spec: ModelSpec, progress: ProgressFn | None = None, cancel: CancelToken | None = None,
               allow_download: bool | None = None) -> nn.Module:
    """Build the architecture and load the weights of `spec`; the module is in eval mode on the CPU."""
    path = fetch_weights(spec, progress, cancel, allow_download)
    ckpt = read_weights(spec, path)
    check(cancel)
    model = build_model(spec)
    if isinstance(spec.source, TorchvisionWeights):
        classes_from, fix = f"the class list of model {spec.name}", "delete it so Maskwork downloads it again"
    elif "classes" in ckpt:
        classes_from, fix = "its class list", None
    else:  # a plain state dict: the classes were given when it was registered
        classes_from = "the class list given for it"
        fix = "register it again with {n} class names (--classes, background first)"
    sd = fit_state_dict(model, ckpt["state_dict"], spec.arch, f"{path} (model {spec.name})", spec.classes,
                        classes_from, fix)
    model.load_state_dict(sd, strict=False)  # fit_state_dict already checked every key and shape
    return model.eval()
