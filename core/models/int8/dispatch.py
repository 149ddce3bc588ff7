"""int8 of any model, dispatched on ModelSpec.backend: torch FX (ADR 0004) or ONNX Runtime (ADR 0009).

    support(spec)                          # Int8Support: can the int8 toggle switch, and why (not)
    p = load("aerial.onnx-model", int8=True, calibration=project_image_paths)
    q = int8_of(float_predictor, calibration)   # from a loaded float predictor; q.int8_info says how
    label(spec)                            # "float + int8" (paired ONNX files) | "int8" (int8 file) | ""

`calibration`: the images the int8 ranges come from (project images, the images given on the
command line, a dataset's images); None = the bundled samples. The torch and ONNX caches key on it.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from maskwork.core.domain.errors import ModelError


@dataclass(frozen=True)
class Int8Support:
    mode: str    # "build": an int8 copy is calibrated and cached | "paired": the user's own int8 file |
    #              "only": the model file is int8 itself | "none": no int8 for this model
    reason: str  # one sentence for a tooltip or an error

    @property
    def switchable(self) -> bool:
        return self.mode in ("build", "paired")


class _Torch:
    TIP = ("Run the int8-quantized model: faster on CPU, slightly different masks. "
           "The first use builds and caches it.")

    @staticmethod
    def support(spec) -> Int8Support:
        from maskwork.core.models.int8.quant.routes import route_for

        if route_for(spec.arch) is None:
            return Int8Support("none", f"{spec.name} (architecture {spec.arch}) has no int8 route; it runs in float.")
        return Int8Support("build", _Torch.TIP)

    @staticmethod
    def build(fp, calibration=None, *, cache_dir=None, num_images=None, use_cache=True, progress=None,
              cancel=None):
        from maskwork.core.models.int8.quant.calibration import DEFAULT_COUNT
        from maskwork.core.models.int8.quantize import int8_model
        from maskwork.core.models.predict import Predictor

        q = int8_model(fp.spec, fp.model, calibration, cache_dir, progress, cancel,
                       num_images=num_images or DEFAULT_COUNT, use_cache=use_cache)
        predictor = Predictor(fp.spec, int8=True, model=q)
        predictor.int8_info = q.int8_info
        return predictor


# ModelSpec.backend -> object with support(spec) and build(float_predictor, calibration, **options)
BACKENDS = {"torch": _Torch, "onnx": "maskwork.core.models.int8.onnx_int8"}


def _backend(spec):
    found = BACKENDS.get(spec.backend)
    if found is None:
        raise ModelError(f"model {spec.name} runs on backend {spec.backend!r}, which has no int8 support.")
    return importlib.import_module(found) if isinstance(found, str) else found


def _spec(spec_or_name):
    from maskwork.core.models.catalog.registry import get_model

    return get_model(spec_or_name) if isinstance(spec_or_name, str) else spec_or_name


def support(spec_or_name) -> Int8Support:
    spec = _spec(spec_or_name)
    return _backend(spec).support(spec)


def label(spec_or_name) -> str:
    """What the model list shows beside the architecture."""
    return {"paired": "float + int8", "only": "int8"}.get(support(spec_or_name).mode, "")


def refuse_quantize(spec_or_name) -> None:
    """`quantize` of a model that is an int8 file already: one sentence."""
    spec = _spec(spec_or_name)
    if support(spec).mode == "only":
        from pathlib import Path

        raise ModelError(f"{spec.name} is already int8 ({Path(spec.source.path).name} holds quantized nodes), so "
                         "there is nothing to quantize: use it as it is, or register its float file and quantize "
                         "that.")


def int8_of(float_predictor, calibration=None, **options):
    """The int8 predictor of a loaded float predictor's model (itself when its file is int8 already).

    options: cache_dir, num_images, use_cache, progress, cancel."""
    spec = float_predictor.spec
    s = support(spec)
    if s.mode == "none":
        raise ModelError(s.reason)
    return _backend(spec).build(float_predictor, calibration, **options)


def load(spec_or_name, int8: bool = False, calibration=None, device=None, progress=None, cancel=None, **options):
    """A float predictor, or the int8 one calibrated on `calibration` (int8 runs on the CPU)."""
    from maskwork.core.models.predict import Predictor

    fp = Predictor(_spec(spec_or_name), device="cpu" if int8 else device, progress=progress, cancel=cancel)
    return int8_of(fp, calibration, progress=progress, cancel=cancel, **options) if int8 else fp
