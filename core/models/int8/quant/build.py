"""Build an int8 copy of a float model along its route: prepare (observers), calibrate, convert.

`rebuild` runs prepare + convert without data: the same graph structure, ready for a cached
int8 state dict (no pickled modules, no recalibration).
"""
from __future__ import annotations

import copy
from typing import Iterable

import torch
from torch import nn

from maskwork.core.domain.errors import ModelError
from maskwork.core.domain.progress import CancelToken, ProgressFn, check, report
from maskwork.core.models.int8.quant.quiet import QuietPart, quiet_quantization
from maskwork.core.models.int8.quant.routes import Part, Route
from maskwork.core.store import bounded

ENGINE = "x86"  # measured against "fbgemm" on this CPU class: see docs/adr/0004-int8-route.md


def _has_vnni() -> bool:
    """AVX512-VNNI / AVX-VNNI multiply u8 x s8 into int32 exactly; plain AVX2 sums pairs in int16,
    which can saturate unless activations keep 7 bits (reduce_range)."""
    try:
        for line in bounded.read_text("/proc/cpuinfo", limit=bounded.SMALL_JSON, what="CPU description").splitlines():
            if line.startswith("flags"):
                flags = line.split()
                return "avx512_vnni" in flags or "avx_vnni" in flags
    except (OSError, ValueError):
        pass
    return False


# full 8-bit activations where the CPU computes them exactly: on the bundled nuclei model the
# nucleus agreement of a hard image rose from 0.79 to 0.89 IoU (docs/adr/0004-int8-route.md)
REDUCE_RANGE = not _has_vnni()


def use_engine() -> None:
    if torch.backends.quantized.engine != ENGINE:
        torch.backends.quantized.engine = ENGINE


def unfreeze_batchnorm(model: nn.Module) -> None:
    """FrozenBatchNorm2d -> eval BatchNorm2d with the same statistics, so conv+bn(+relu) fuse."""
    from torchvision.ops.misc import FrozenBatchNorm2d

    for name, child in model.named_children():
        if isinstance(child, FrozenBatchNorm2d):
            bn = nn.BatchNorm2d(child.weight.numel(), eps=child.eps)
            assert bn.running_mean is not None and bn.running_var is not None  # track_running_stats: the default
            with torch.no_grad():
                bn.weight.copy_(child.weight)
                bn.bias.copy_(child.bias)
                bn.running_mean.copy_(child.running_mean)
                bn.running_var.copy_(child.running_var)
            setattr(model, name, bn.eval())
        else:
            unfreeze_batchnorm(child)


def _qconfig_mapping(part: Part, module: nn.Module):
    """x86 defaults, but min/max activation ranges: HistogramObserver made calibration several times
    slower for no agreement gain (docs/adr/0004)."""
    from torch.ao.quantization import MinMaxObserver, QConfig, get_default_qconfig, get_default_qconfig_mapping

    mapping = get_default_qconfig_mapping(ENGINE)
    weight = get_default_qconfig(ENGINE).weight
    mapping.set_global(QConfig(activation=MinMaxObserver.with_args(reduce_range=REDUCE_RANGE), weight=weight))
    # transposed convs stay float: torch's x86/fbgemm/onednn int8 ConvTranspose2d gives wrong results
    # (relative error ~1 on a plain stride-2 up-convolution, any weight scheme; qnnpack alone is right)
    for kind in (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d):
        mapping.set_object_type(kind, None)
    for name in part.keep_float(module):
        mapping.set_module_name(name, None)
    return mapping


def _get(model: nn.Module, path: str) -> nn.Module:
    return model.get_submodule(path) if path else model


def _set(model: nn.Module, path: str, module: nn.Module) -> nn.Module:
    """Replace the submodule at `path`; returns the new root (the part itself for "")."""
    if not path:
        return module
    parent, _, name = path.rpartition(".")
    setattr(_get(model, parent), name, module)
    return model


def _prepare(model: nn.Module, route: Route, arch: str) -> nn.Module:
    from torch.ao.quantization.quantize_fx import prepare_fx

    use_engine()
    model = copy.deepcopy(model).eval()
    unfreeze_batchnorm(model)
    examples = {p.path: p.example(model) for p in route.parts}  # before any part is replaced
    for part in route.parts:
        sub = _get(model, part.path)
        if not list(sub.children()):  # a bare layer: FX would trace into its own forward
            sub = nn.Sequential(sub)
        try:
            with quiet_quantization():
                prepared = prepare_fx(sub, _qconfig_mapping(part, sub), examples[part.path])
        except Exception as exc:  # FX cannot trace a custom architecture
            raise ModelError(f"cannot quantize {arch} (part {part.path or 'model'}): {type(exc).__name__}: "
                             f"{str(exc)[:200]}. Run this model in float (without int8).") from exc
        model = _set(model, part.path, prepared)
    return model


def _convert(model: nn.Module, route: Route) -> nn.Module:
    from torch.ao.quantization.quantize_fx import convert_fx
    from torch.fx import GraphModule

    for part in route.parts:
        prepared = _get(model, part.path)
        if not isinstance(prepared, GraphModule):  # _prepare put prepare_fx's GraphModule there
            raise ModelError(f"the int8 part {part.path or 'model'} was not prepared; run this model in float.")
        with quiet_quantization():
            converted = convert_fx(prepared)
        model = _set(model, part.path, QuietPart(converted))
    return model.eval()


def _run_float_forward(model: nn.Module, inputs: torch.Tensor, task: str) -> None:
    if task == "instance":
        model([inputs])
    else:
        model(inputs[None])


def calibrate_and_convert(model: nn.Module, route: Route, arch: str, task: str, inputs: Iterable[torch.Tensor],
                          total: int, progress: ProgressFn | None = None,
                          cancel: CancelToken | None = None) -> nn.Module:
    """int8 copy of `model` calibrated on `inputs` ((3, h, w) tensors as the float model takes them)."""
    prepared = _prepare(model, route, arch)
    heads = getattr(prepared, "roi_heads", None)
    saved = heads.score_thresh if heads is not None else None
    if heads is not None and route.calibration_floor is not None:
        heads.score_thresh = route.calibration_floor  # so the box/mask heads see RoIs even on weak models
    try:
        with torch.no_grad(), quiet_quantization():
            for n, x in enumerate(inputs):
                check(cancel)
                _run_float_forward(prepared, x, task)
                report(progress, n + 1, total, f"calibrating int8 ({n + 1}/{total})")
    finally:
        if heads is not None:
            heads.score_thresh = saved
    check(cancel)
    return _convert(prepared, route)


def rebuild(model: nn.Module, route: Route, arch: str) -> nn.Module:
    """The int8 structure of `model` without calibration data: load a cached state dict into it."""
    return _convert(_prepare(model, route, arch), route)
