"""Model results on the wire between an actor and the driver: compact and exact.

The actor sends what the writer stores, so the driver (whose rate bounds the cluster) decodes as
little as possible; one row of PAYLOADS per output:
- "result" (a project: the store builds its document from the result): label maps as PNG (lossless, 8 or
  16 bit), instance masks as their bit-packed crops with the offset, boxes, class ids and scores as they
  are. The semantic confidence map stays in the actor: what needs it (one instance per region on an
  instance project) already ran there (core.models.cross_task).
- "png" (label PNG files): the file's bytes, as the single-process command writes them.
- "layer" (COCO JSON): the prediction layer in the project store's encoding, with the image size.
"""
from __future__ import annotations

import pickle
from typing import Any, Callable

import cv2
import numpy as np

from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.masks import Mask
from maskwork.core.models.results import InstanceResult, SemanticResult


def _png(label_map: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(label_map), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("could not encode the label map as PNG")
    return buf.tobytes()


def _unpng(data: bytes, dtype: str) -> np.ndarray:
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ValueError("a label map sent by a worker cannot be decoded")
    return arr.astype(dtype, copy=False)


def _mask(m: Mask) -> tuple:
    h, w = m.crop.shape
    return m.x0, m.y0, h, w, np.packbits(m.crop, axis=None).tobytes()


def _unmask(height: int, width: int, item: tuple) -> Mask:
    x0, y0, h, w, bits = item
    if h == 0 or w == 0:
        return Mask.empty(height, width)
    crop = np.unpackbits(np.frombuffer(bits, np.uint8), count=h * w).reshape(h, w).astype(bool)
    return Mask(height, width, x0, y0, crop)  # a crop that was trimmed stays trimmed


def encode(result) -> bytes:
    """Bytes of a SemanticResult or InstanceResult (a subclass, e.g. PaintedInstances, keeps its type)."""
    doc: dict[str, object]
    if isinstance(result, SemanticResult):
        doc = {"kind": "semantic", "png": _png(result.label_map), "dtype": result.label_map.dtype.str}
    else:
        doc = {"kind": "instance", "type": type(result), "masks": [_mask(m) for m in result.masks],
               "boxes": np.asarray(result.boxes, np.float32), "class_ids": np.asarray(result.class_ids),
               "scores": np.asarray(result.scores, np.float32), "height": result.height, "width": result.width,
               "score_threshold": result.score_threshold}
    doc.update(classes=result.classes.to_list(), latency_ms=float(result.latency_ms))
    return pickle.dumps(doc, protocol=5)


def decode(data: bytes):
    doc = pickle.loads(data)
    classes = ClassList.from_list(doc["classes"])
    if doc["kind"] == "semantic":
        return SemanticResult(_unpng(doc["png"], doc["dtype"]), None, classes,  # type: ignore[arg-type]
                              doc["latency_ms"])  # no confidence: see the module's note
    h, w = doc["height"], doc["width"]
    masks = [_unmask(h, w, item) for item in doc["masks"]]
    cls = doc["type"] if issubclass(doc["type"], InstanceResult) else InstanceResult
    return cls(masks, doc["boxes"], doc["class_ids"], doc["scores"], classes, h, w, doc["latency_ms"],
               doc["score_threshold"])


def _png_file(result, classes) -> bytes:
    from maskwork.core.formats.png import encode_label_png

    return encode_label_png(result.label_map, classes)


def _layer(result, classes) -> bytes:
    from maskwork.core.store.annotation_json import encode_layer

    return pickle.dumps({"width": result.width, "height": result.height, "latency_ms": float(result.latency_ms),
                         "layer": encode_layer(result.to_layer())}, protocol=5)


def _result(result, classes) -> bytes:
    return encode(result)


# payload kind -> (in the actor: result, model classes -> bytes; on the driver: bytes -> what the writer takes)
PAYLOADS: dict[str, tuple[Callable[[Any, Any], bytes], Callable[[bytes], Any]]] = {
    "result": (_result, decode),
    "png": (_png_file, lambda data: data),
    "layer": (_layer, pickle.loads),
}
