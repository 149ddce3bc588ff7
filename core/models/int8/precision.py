"""What an ONNX file is, read without quantizing anything: already int8 or not, and the name under which a
float file and its int8 twin pair. Used by recognition (core.models.onnx_models.layouts) and registration;
core.models.int8.onnx_quant builds the twins.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from maskwork.core.domain.errors import ModelError
from maskwork.core.store import bounded

QUANT_OP_TYPES = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger",
                  "ConvInteger", "QGemm", "QAttention"}
INT8_SUFFIX = re.compile(r"([-_.](int8|uint8|quantized|quantised|quant|qdq|q8))+$", re.I)


def _graphs(graph):
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.g is not None and attr.g.node:
                yield from _graphs(attr.g)
            for g in attr.graphs:
                yield from _graphs(g)


def load_graph(path: str | Path):
    import onnx

    vetted = bounded.check_file(path, limit=bounded.MODEL_FILE, what="ONNX model")
    try:
        return onnx.load(str(vetted), load_external_data=False)
    except Exception as exc:
        raise ModelError(f"{path} is not a readable ONNX file ({type(exc).__name__}).") from exc


def is_int8(path: str | Path) -> bool:
    """True when the file is already quantized: quantize/dequantize or QLinear*/integer nodes, or
    weights stored mostly as 8-bit integers."""
    import onnx

    m = load_graph(path)
    small = {onnx.TensorProto.INT8, onnx.TensorProto.UINT8, onnx.TensorProto.INT4, onnx.TensorProto.UINT4}
    n8 = total = 0
    for g in _graphs(m.graph):
        if any(n.op_type in QUANT_OP_TYPES or n.op_type.startswith("QLinear") for n in g.node):
            return True
        for t in g.initializer:
            size = int(np.prod(t.dims)) if t.dims else 1
            total += size
            n8 += size if t.data_type in small else 0
    return total > 0 and n8 >= total / 2


def pair_key(path: str | Path, metadata: dict | None = None) -> str:
    """Name under which a float file and its int8 file pair (case-insensitive).

    Maskwork exports (and their int8 twins, which keep the metadata) pair by maskwork.model; other
    files by file name with an int8 suffix removed: yolo11n-seg-quantized.onnx and yolo11n-seg.onnx
    -> "yolo11n-seg"; `-int8`, `_int8`, `.int8`, `-uint8`, `-quantized`, `-quant`, `-qdq`, `-q8` too.
    `metadata`: read_maskwork_metadata's dict or the raw metadata_props map."""
    metadata = metadata or {}
    model = metadata.get("model") or metadata.get("maskwork.model")
    if model:
        return str(model).strip().lower()
    stem = Path(path).name
    stem = stem[: -len(".onnx")] if stem.lower().endswith(".onnx") else Path(stem).stem
    return (INT8_SUFFIX.sub("", stem) or stem).lower()
