"""int8 versions of registry models: post-training static quantization, cached on disk.

    q = int8_model(spec, float_model)                    # bundled calibration samples
    q = int8_model(spec, float_model, project_images)    # arrays, image paths or a folder

The int8 module has the float model's forward (Mask R-CNN: list of dicts; semantic: {"out": logits}),
so core.models.predict post-processes both the same way. It runs on the CPU. The route per
architecture (which layers become int8) is in core.models.int8.quant.routes; the reasons and
measurements in docs/adr/0004-int8-route.md.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from maskwork.core.domain.errors import ModelError
from maskwork.core.domain.progress import CancelToken, ProgressFn, report
from maskwork.core.models.int8.quant import build, cache, calibration
from maskwork.core.models.int8.quant.quiet import quiet_quantization
from maskwork.core.models.int8.quant.routes import ROUTE_VERSION, ROUTES, route_for

__all__ = ["int8_model", "supports_int8", "state_dict_bytes", "ROUTES"]


def _spec(spec_or_name):
    if isinstance(spec_or_name, str):
        from maskwork.core.models.catalog.registry import get_model

        return get_model(spec_or_name)
    return spec_or_name


def supports_int8(spec_or_name) -> bool:
    return route_for(_spec(spec_or_name).arch) is not None


def state_dict_bytes(model: nn.Module) -> int:
    """Size of the model as saved (torch.save of its state dict): what a user would ship."""
    import io

    buf = io.BytesIO()
    with quiet_quantization():
        torch.save(model.state_dict(), buf)
    return buf.tell()


def _configure(spec, model: nn.Module) -> None:
    """Calibrate with the input sizes the predictor will use (Mask R-CNN transform)."""
    if spec.task == "instance":
        from maskwork.core.models.torch_models.instance import configure

        configure(model, spec.input)


def int8_model(spec, float_model: nn.Module, calibration_images: calibration.CalibrationSource = None,
               cache_dir: str | Path | None = None, progress: ProgressFn | None = None,
               cancel: CancelToken | None = None, *, num_images: int = calibration.DEFAULT_COUNT,
               use_cache: bool = True) -> nn.Module:
    """int8 copy of `float_model` (left untouched), from the cache when one matches.

    The returned module carries `int8_info`: route, cache file, whether it came from the cache.
    Raises Cancelled (nothing written) when `cancel` fires during calibration.
    """
    spec = _spec(spec)
    route = route_for(spec.arch)
    if route is None:
        raise ModelError(f"model {spec.name!r} (architecture {spec.arch}) has no int8 route in this Maskwork; "
                         f"run it in float. Architectures with int8: {', '.join(ROUTES)}.")
    float_model = float_model.eval()
    _configure(spec, float_model)
    items = calibration.resolve(calibration_images, num_images, spec.name)
    key = cache.cache_key(model=spec.name, arch=spec.arch, weights=cache.weights_fingerprint(float_model),
                          calibration=calibration.fingerprint(items), torch=str(torch.__version__),
                          engine=build.ENGINE, reduce_range=build.REDUCE_RANGE, route=ROUTE_VERSION,
                          input=spec.input.to_dict())
    path = cache.cache_path(Path(cache_dir) if cache_dir else cache.default_cache_dir(), spec.name, key)
    info = {"route": route.name, "cache_path": str(path), "from_cache": False, "calibration_images": len(items)}

    cached = cache.load(path, key) if use_cache else None
    if cached is not None:
        model = build.rebuild(float_model, route, spec.arch)
        try:
            model.load_state_dict(cached, strict=True)
        except (RuntimeError, KeyError):
            cached = None  # structure changed under the same key (should not happen): recalibrate
        else:
            info["from_cache"] = True
    if cached is None:
        report(progress, 0, len(items), "calibrating int8")
        model = build.calibrate_and_convert(float_model, route, spec.arch, spec.task,
                                            calibration.inputs(items, spec), len(items), progress, cancel)
        if use_cache:
            meta = {"model": spec.name, "arch": spec.arch, "route": route.name, "torch": str(torch.__version__)}
            try:
                with quiet_quantization():
                    cache.save(path, key, model.state_dict(), meta)
            except ModelError as exc:  # the int8 model works; only the next start will be slower
                info["cache_error"] = str(exc)
    _configure(spec, model)
    # a plain attribute, as Module allows at run time; torch's __setattr__ annotation only names Tensor | Module
    model.int8_info = info  # type: ignore[assignment]
    return model.eval()
