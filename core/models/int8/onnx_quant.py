"""int8 twins of ONNX models: ONNX Runtime static quantization calibrated on the project's images, cached.

    q = int8_onnx("aerial.onnx", project_image_paths)     # Int8Onnx(path, from_cache, ...)

Whether a file is already int8 and how twins pair: core.models.int8.precision (is_int8, pair_key).

QDQ format, per-channel int8 weights, asymmetric uint8 activations. Calibration images go through the
model's own preprocessing (a Maskwork export's maskwork.input policy via core.models.int8.quant.calibration;
other files pass `prepare`). Which calibration and which nodes stay float: docs/adr/0009-onnx-int8.md.
The cache key is the float file's bytes + calibration set + settings + onnxruntime version, as the
torch int8 cache (core.models.int8.quant.cache); a damaged cache file is rebuilt.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from maskwork.core.domain.errors import ModelError
from maskwork.core.domain.progress import CancelToken, ProgressFn, check, report
from maskwork.core.models.int8.precision import is_int8, load_graph
from maskwork.core.models.int8.quant import cache, calibration
from maskwork.core.store import bounded

QUANT_VERSION = 1  # bump when the recipe changes: old cache files stop matching


@dataclass(frozen=True)
class QuantSettings:
    """What decides the int8 file (all part of the cache key). Defaults: ADR 0009's measured choice."""

    method: str = "minmax"  # minmax | entropy | percentile (onnxruntime CalibrationMethod)
    percentile: float = 99.999  # percentile method only
    float_ops: tuple[str, ...] = ("ConvTranspose",)  # op types kept float
    keep_head_float: bool = False  # the last Conv(s) before the outputs stay float
    per_channel: bool = True


DEFAULT_SETTINGS = QuantSettings()


@dataclass
class Int8Onnx:
    path: Path
    from_cache: bool
    calibration_images: int
    settings: QuantSettings
    excluded_nodes: list[str] = field(default_factory=list)


def refuse_if_int8(path: str | Path) -> None:
    if is_int8(path):
        raise ModelError(f"{Path(path).name} is already int8 (it holds quantized nodes or weights); quantizing "
                         "it again would only lose accuracy, so use it as it is or quantize its float original.")


# ---- calibration ---------------------------------------------------------------------------------
@dataclass
class _Feed:
    task: str
    input: object  # InputPolicy


def default_prepare(path: str | Path) -> Callable[[np.ndarray], np.ndarray]:
    """RGB -> the array a Maskwork export takes, as its torch model's predictor prepares it."""
    from maskwork.core.models.onnx_models.onnx_meta import policy_from_metadata, read_maskwork_metadata

    meta = read_maskwork_metadata(path)
    if meta is None:
        raise ModelError(f"{Path(path).name} has no Maskwork metadata, so how to feed it is unknown; register "
                         "it with its input policy (or pass `prepare`) before building its int8 twin.")
    feed = _Feed(meta["task"], policy_from_metadata(meta))

    def prepare(rgb: np.ndarray) -> np.ndarray:
        t = calibration.model_input(rgb, feed, "calibration image").numpy()
        return t[None] if feed.task == "semantic" else t

    return prepare


class _Reader:
    """Feeds prepared images one at a time. `same_shape`: the histogram calibraters (entropy, percentile)
    stack every batch's outputs, so all inputs are centre-cropped to the smallest height and width."""

    def __init__(self, items, prepare, input_name, progress, cancel, same_shape: bool = False) -> None:
        self.items, self.prepare, self.name = items, prepare, input_name
        self.progress, self.cancel, self.n = progress, cancel, 0
        self.arrays = [self._load(k) for k in range(len(items))] if same_shape else None
        if self.arrays:
            h, w = min(a.shape[-2] for a in self.arrays), min(a.shape[-1] for a in self.arrays)
            self.arrays = [_centre(a, h, w) for a in self.arrays]

    def _load(self, k: int) -> np.ndarray:
        check(self.cancel)
        item = self.items[k]
        rgb = calibration.load(item, str(item) if isinstance(item, (str, Path)) else f"image {k + 1}")
        return np.ascontiguousarray(self.prepare(rgb), np.float32)

    def get_next(self):
        check(self.cancel)
        if self.n >= len(self.items):
            return None
        self.n += 1
        report(self.progress, self.n, len(self.items), "calibrating int8 (onnxruntime)")
        return {self.name: self.arrays[self.n - 1] if self.arrays else self._load(self.n - 1)}


def _centre(a: np.ndarray, h: int, w: int) -> np.ndarray:
    y, x = (a.shape[-2] - h) // 2, (a.shape[-1] - w) // 2
    return np.ascontiguousarray(a[..., y : y + h, x : x + w])


def _head_convs(graph) -> list[str]:
    """Conv nodes nearest the graph outputs (walking back through non-Conv nodes)."""
    producer = {o: n for n in graph.node for o in n.output}
    found, seen, todo = [], set(), [o.name for o in graph.output]
    while todo:
        node = producer.get(todo.pop())
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        if node.op_type == "Conv":
            found.append(node.name)
        else:
            todo.extend(node.input)
    return found


def _excluded(model, settings: QuantSettings) -> list[str]:
    names = [n.name for n in model.graph.node if n.op_type in settings.float_ops]
    return names + (_head_convs(model.graph) if settings.keep_head_float else [])


def _quantize(src: Path, dst: Path, reader, settings: QuantSettings) -> list[str]:
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from maskwork.core.models.onnx_models.onnx_meta import set_metadata
    from maskwork.core.models.torch_models.export import quiet_export

    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    if settings.method not in methods:
        raise ModelError(f"int8 calibration {settings.method!r} is unknown; use one of {', '.join(methods)}.")
    model = onnx.load(str(bounded.check_file(src, limit=bounded.MODEL_FILE, what="ONNX model")))
    unnamed = [n for n in model.graph.node if not n.name]
    for k, n in enumerate(unnamed):  # nodes_to_exclude works by name
        n.name = f"mw_node_{k}"
    excluded = _excluded(model, settings)
    # no CalibMaxIntermediateOutputs: onnxruntime 1.32 drops the flushed outputs without merging their ranges
    extra: dict[str, bool | float] = {"ActivationSymmetric": False}
    if settings.method == "percentile":
        extra["CalibPercentile"] = settings.percentile
    wrapped = type("Reader", (CalibrationDataReader,), {"get_next": lambda self: reader.get_next()})()
    with quiet_export(), contextlib.redirect_stdout(io.StringIO()):  # histogram calibraters print()
        quantize_static(model, str(dst), wrapped, quant_format=QuantFormat.QDQ, per_channel=settings.per_channel,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=methods[settings.method], nodes_to_exclude=excluded, extra_options=extra)
    out = onnx.load(str(bounded.check_file(dst, limit=bounded.MODEL_FILE, what="ONNX model")))
    set_metadata(out, {p.key: p.value for p in model.metadata_props})  # the twin describes itself too
    onnx.save(out, str(dst))
    return excluded


def _file_hash(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with bounded.open_binary(path, limit=bounded.MODEL_FILE, what="ONNX model") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def onnx_cache_dir(cache_dir: str | Path | None = None) -> Path:
    return Path(cache_dir) if cache_dir else cache.default_cache_dir() / "onnx"


def int8_onnx(src: str | Path, calibration_images: calibration.CalibrationSource = None, *,
              settings: QuantSettings = DEFAULT_SETTINGS, prepare: Callable[[np.ndarray], np.ndarray] | None = None,
              prepare_key: str = "", cache_dir: str | Path | None = None, num_images: int = calibration.DEFAULT_COUNT,
              use_cache: bool = True, progress: ProgressFn | None = None,
              cancel: CancelToken | None = None) -> Int8Onnx:
    """The int8 twin of a float ONNX file, from the cache when one matches (Cancelled: nothing written).

    `prepare(rgb) -> input array` defaults to the file's Maskwork metadata; give `prepare_key` (e.g. the
    input policy as text) with a custom `prepare` so the cache tells preprocessings apart."""
    import onnxruntime as ort

    src = Path(src)
    refuse_if_int8(src)
    from maskwork.core.models.onnx_models.onnx_meta import raw_metadata

    name = raw_metadata(src).get("maskwork.model") or src.stem  # picks bundled samples when no images given
    items = calibration.resolve(calibration_images, num_images, name)
    feed = prepare_key or ("maskwork" if prepare is None else getattr(prepare, "__qualname__", ""))
    key = cache.cache_key(onnx=_file_hash(src), calibration=calibration.fingerprint(items), ort=ort.__version__,
                          settings=asdict(settings), version=QUANT_VERSION, prepare=feed)
    folder = onnx_cache_dir(cache_dir)
    path = folder / f"{cache.cache_path(folder, src.stem, key).stem}.int8.onnx"
    if use_cache and _usable(path):
        return Int8Onnx(path, True, len(items), settings)
    prepare = prepare or default_prepare(src)
    input_name = _input_name(src)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=path.name + ".", suffix=".tmp.onnx")
    os.close(fd)
    try:
        report(progress, 0, len(items), "calibrating int8 (onnxruntime)")
        excluded = _quantize(src, Path(tmp), _Reader(items, prepare, input_name, progress, cancel,
                                                          settings.method != "minmax"), settings)
        check(cancel)
        os.replace(tmp, path)
    except OSError as exc:
        raise ModelError(f"cannot write the int8 ONNX file {path}: {exc.strerror or exc}. Free disk space or set "
                         "MASKWORK_CACHE_DIR to a writable folder.") from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
    return Int8Onnx(path, False, len(items), settings, excluded)


def _input_name(path: Path) -> str:
    m = load_graph(path)
    inits = {t.name for t in m.graph.initializer}
    names = [i.name for i in m.graph.input if i.name not in inits]
    if len(names) != 1:
        raise ModelError(f"{path.name} has {len(names)} inputs ({', '.join(names)}); int8 calibration feeds one "
                         "image input.")
    return names[0]


def _usable(path: Path) -> bool:
    """A cache hit must still be a readable int8 file (a truncated or foreign file is rebuilt)."""
    try:
        return path.is_file() and is_int8(path)
    except ModelError:
        return False
