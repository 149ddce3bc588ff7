"""Find, download and load a model's weights, with messages a user can act on.

Torchvision weights live in torch hub's cache (`torch.hub.get_dir()/checkpoints/<file>`, the file
name of the weights enum's URL), so a file fetched once, or copied there by hand, works offline.
Bundled and user checkpoints are read with core.models.checkpoint.read_checkpoint (weights_only).
"""
from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from core.errors import Cancelled, ModelError
from core.models.architectures import ARCHITECTURES
from core.models.checkpoint import read_checkpoint
from core.models.registry import BundledFile, ModelSpec, TorchvisionWeights, weights_file
from core.progress import CancelToken, ProgressFn, check, report

HASH_RE = re.compile(r"-([a-f0-9]{6,})\.")  # torchvision file names end in a sha256 prefix
CHUNK = 1 << 20
HEAD_HINT = ("roi_heads.box_predictor", "roi_heads.mask_predictor.mask_fcn_logits", "classifier.4",
             "classifier.low_classifier", "classifier.high_classifier")


def hub_checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def torchvision_url(source: TorchvisionWeights) -> str:
    from torchvision.models import get_weight

    try:
        return get_weight(source.weights).url
    except (ValueError, AttributeError, KeyError) as exc:
        raise ModelError(f"torchvision {torchvision_version()} has no weights named {source.weights}: {exc}") from exc


def torchvision_version() -> str:
    import torchvision

    return torchvision.__version__


def weights_path(spec: ModelSpec) -> Path:
    """The file the weights of `spec` are (or will be) read from."""
    if isinstance(spec.source, TorchvisionWeights):
        return hub_checkpoint_dir() / os.path.basename(urlparse(torchvision_url(spec.source)).path)
    return weights_file(spec)


def model_state(spec: ModelSpec) -> str:
    """"cached" | "bundled" | "needs download" | "missing", for the model list."""
    present = weights_path(spec).is_file()
    if isinstance(spec.source, TorchvisionWeights):
        return "cached" if present else "needs download"
    if isinstance(spec.source, BundledFile):
        return "bundled" if present else "missing"
    return "cached" if present else "missing"


def download_file(url: str, dest: Path, progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                  check_hash: bool = True, timeout: float = 30.0) -> Path:
    """Download `url` to `dest` through a `.partial` file; verify the sha256 prefix in the name; cancellable."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    where = f"Put {dest.name} into {dest.parent} by hand (downloaded from {url} on a connected machine)"
    sha = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(partial, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            while True:
                check(cancel)
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                sha.update(chunk)
                done += len(chunk)
                report(progress, done, max(total, done), f"downloading {dest.name}")
    except Cancelled:
        partial.unlink(missing_ok=True)
        raise
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise ModelError(f"cannot download {dest.name} ({reason}). {where}, then try again.") from exc
    match = HASH_RE.search(dest.name)
    if check_hash and match and not sha.hexdigest().startswith(match.group(1)):
        partial.unlink(missing_ok=True)
        raise ModelError(f"the download of {dest.name} is damaged (checksum differs). Try again, or {where[0].lower()}"
                         f"{where[1:]}.")
    os.replace(partial, dest)
    return dest


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


def read_state_dict(spec: ModelSpec, path: Path) -> dict:
    if isinstance(spec.source, TorchvisionWeights):
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # truncated download, foreign file under the expected name
            raise ModelError(f"{path} is not a readable PyTorch weights file ({type(exc).__name__}). Delete it so "
                             f"Maskwork downloads it again, or replace it with {path.name} from "
                             f"{torchvision_url(spec.source)}.") from exc
        if not isinstance(obj, dict):
            raise ModelError(f"{path} holds no state dict; delete it so Maskwork downloads it again.")
        return obj
    return read_checkpoint(path)["state_dict"]


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


def fit_state_dict(model: nn.Module, state_dict: dict, arch: str, origin: str) -> dict:
    """The state dict cleaned for `model`, or ModelError saying in one sentence how it does not fit."""
    sd = {k.removeprefix("module."): v for k, v in state_dict.items()}  # saved from DataParallel
    if getattr(model, "aux_classifier", None) is None:
        sd = {k: v for k, v in sd.items() if not k.startswith("aux_classifier.")}  # training-only head
    own = model.state_dict()
    benign = "num_batches_tracked"  # BatchNorm counter, absent from FrozenBatchNorm and old files
    missing = [k for k in own if k not in sd and not k.endswith(benign)]
    unexpected = [k for k in sd if k not in own and not k.endswith(benign)]
    bad_shape = [k for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if bad_shape and all(k.startswith(HEAD_HINT) for k in bad_shape) and not missing and not unexpected:
        k = bad_shape[0]
        raise ModelError(f"{origin} was trained for {sd[k].shape[0]} outputs but architecture {arch} here is built "
                         f"for {own[k].shape[0]} ({k}: {tuple(sd[k].shape)} vs {tuple(own[k].shape)}); "
                         "register it with its own class list (as many classes as it was trained on).")
    if missing or unexpected or bad_shape:
        parts = []
        if missing:
            parts.append(f"{len(missing)} weights missing ({_examples(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected ({_examples(unexpected)})")
        if bad_shape:
            parts.append(f"{len(bad_shape)} of another shape ({_examples(bad_shape)})")
        raise ModelError(f"{origin} does not fit architecture {arch}: {', '.join(parts)}; it was saved from a "
                         f"different architecture; register it with the matching one (known: "
                         f"{', '.join(ARCHITECTURES)}).")
    return sd


def load_model(spec: ModelSpec, progress: ProgressFn | None = None, cancel: CancelToken | None = None,
               allow_download: bool | None = None) -> nn.Module:
    """Build the architecture and load the weights of `spec`; the module is in eval mode on the CPU."""
    path = fetch_weights(spec, progress, cancel, allow_download)
    state_dict = read_state_dict(spec, path)
    check(cancel)
    model = build_model(spec)
    sd = fit_state_dict(model, state_dict, spec.arch, f"{path.name} (model {spec.name})")
    model.load_state_dict(sd, strict=False)  # fit_state_dict already checked every key and shape
    return model.eval()

