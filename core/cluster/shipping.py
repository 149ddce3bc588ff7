"""The model travels once: loaded (and made int8) on the driver, shipped through Ray's object store,
rebuilt in every actor without touching the network or the weights cache.

    parcel = pack(predictor, float_model)    # driver: bytes + spec, and a fingerprint of those bytes
    predictor = unpack(parcel, "cpu", 1)     # actor: the same model, this device, this many threads

Torch models travel as state dicts (read back with weights_only=True): the float weights, plus the
int8 state dict and its route when the driver built an int8 model (the int8 cache rebuilds the same
way). ONNX models travel as the file's bytes. One entry per backend in BACKENDS.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskwork.core.domain.errors import ModelError
from maskwork.core.store import bounded


@dataclass(frozen=True)
class Parcel:
    spec: Any                 # ModelSpec (picklable dataclasses)
    int8: bool
    blobs: dict               # name -> bytes
    fingerprint: str          # sha256 of the spec's identity and every blob: "the same model"

    @property
    def size_bytes(self) -> int:
        return sum(len(b) for b in self.blobs.values())


def _torch_bytes(state_dict: dict) -> bytes:
    import torch

    from maskwork.core.models.int8.quant.quiet import quiet_quantization

    buffer = io.BytesIO()
    with quiet_quantization():
        torch.save(state_dict, buffer)
    return buffer.getvalue()


def _torch_state(blob: bytes) -> dict:
    import torch

    from maskwork.core.models.int8.quant.quiet import quiet_quantization

    with quiet_quantization():
        return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)


def _pack_torch(predictor, float_model) -> dict:
    if not predictor.int8:
        return {"float": _torch_bytes(predictor.model.state_dict())}
    if float_model is None:
        raise ModelError(f"{predictor.spec.name}: the int8 model cannot be shipped without its float model")
    return {"float": _torch_bytes(float_model.state_dict()), "int8": _torch_bytes(predictor.model.state_dict())}


def _configure(spec, model) -> None:
    """Mask R-CNN's input sizes, as core.models.int8.quantize sets them around building int8."""
    if spec.task == "instance":
        from maskwork.core.models.torch_models.instance import configure

        configure(model, spec.input)


def _unpack_torch(parcel: Parcel, device: str):
    from maskwork.core.models.catalog.weights import build_model
    from maskwork.core.models.predict import Predictor

    spec = parcel.spec
    model = build_model(spec)
    model.load_state_dict(_torch_state(parcel.blobs["float"]))
    model.eval()
    if not parcel.int8:
        return Predictor(spec, device=device, model=model)
    from maskwork.core.models.int8.quant.build import rebuild
    from maskwork.core.models.int8.quant.quiet import quiet_quantization
    from maskwork.core.models.int8.quant.routes import route_for

    _configure(spec, model)
    with quiet_quantization():  # the same steps as a hit in the int8 cache (core.models.int8.quantize)
        route = route_for(spec.arch)
        if route is None:
            raise ModelError(f"{spec.name}: architecture {spec.arch} has no int8 route in this Maskwork")
        q = rebuild(model, route, spec.arch)
        q.load_state_dict(_torch_state(parcel.blobs["int8"]), strict=True)
    _configure(spec, q)
    return Predictor(spec, int8=True, device="cpu", model=q.eval())


def _pack_onnx(predictor, float_model) -> dict:
    return {"onnx": bounded.read_bytes(predictor.spec.source.path, limit=bounded.MODEL_FILE, what="ONNX model")}


def _unpack_onnx(parcel: Parcel, device: str):
    from dataclasses import replace

    from maskwork.core.models.catalog.specs import OnnxFile
    from maskwork.core.models.onnx_models.runner import OnnxPredictor
    from maskwork.core.models.onnx_models.session import open_session

    # onnxruntime (and the ONNX decoders) want a file: one per model version in this node's temp folder
    folder = Path(tempfile.gettempdir()) / "maskwork-ray-models"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{parcel.fingerprint[:24]}.onnx"
    if not path.is_file():
        from maskwork.core.store.atomic import write_bytes_atomic

        write_bytes_atomic(path, parcel.blobs["onnx"])
    src = parcel.spec.source
    spec = replace(parcel.spec, source=OnnxFile(str(path), src.layout))
    return OnnxPredictor(spec, int8=parcel.int8, device=device, model=open_session(path, device))


# ModelSpec.backend -> (pack on the driver, unpack in an actor)
BACKENDS = {"torch": (_pack_torch, _unpack_torch), "onnx": (_pack_onnx, _unpack_onnx)}


def _backend(spec):
    found = BACKENDS.get(spec.backend)
    if found is None:
        raise ModelError(f"model {spec.name} runs on backend {spec.backend!r}, which --engine ray cannot ship yet; "
                         "run it without --engine ray.")
    return found


def _spec_identity(spec) -> bytes:
    parts = [spec.name, spec.task, spec.arch, spec.backend, repr(spec.classes.to_list()),
             repr(spec.input.to_dict()), repr(tuple(spec.input.mean)), repr(tuple(spec.input.std))]
    return "\x1f".join(parts).encode()


def pack(predictor, float_model=None) -> Parcel:
    """Everything an actor needs to rebuild `predictor` (loaded, and made int8, by the caller);
    `float_model`: the torch float module an int8 predictor was built from."""
    blobs = _backend(predictor.spec)[0](predictor, float_model)
    h = hashlib.sha256(_spec_identity(predictor.spec))
    h.update(b"int8" if predictor.int8 else b"float")
    for name in sorted(blobs):
        h.update(name.encode())
        h.update(hashlib.sha256(blobs[name]).digest())
    return Parcel(predictor.spec, bool(predictor.int8), blobs, h.hexdigest())


def unpack(parcel: Parcel, device: str, threads: int):
    """The predictor in an actor: `threads` CPU threads for torch and onnxruntime, on `device`."""
    import torch

    os.environ["MASKWORK_THREADS"] = str(threads)  # read by the Predictor and by onnxruntime sessions
    torch.set_num_threads(threads)
    return _backend(parcel.spec)[1](parcel, device)
