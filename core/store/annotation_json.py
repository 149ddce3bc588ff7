"""One ImageAnnotation <-> one JSON document of the project store (lossless).

Instances are stored as the COCO RLE of their crop plus its offset (cheap for small objects on
big images); a label map as a base64 PNG (lossless, 8 or 16 bit). Layout, version 1:
  {"format": "maskwork-annotation", "version": 1, "file_name", "width", "height", "status",
   "saved_ns", "corrected": LAYER, "prediction": LAYER | null, "prediction_info": {...} | null}
  LAYER = {"label_map": {"png": base64, "dtype": "uint8"} | null,
           "instances": [{"id", "class_id", "x0", "y0", "rle": {"size", "counts"}, "score", "box",
                          "source", "iscrowd"}]}
"""
from __future__ import annotations

import base64
import time
from dataclasses import asdict

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from maskwork.core.domain.annotation import ImageAnnotation, Instance, Layer, PredictionInfo, Source, Status, as_box
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask

FORMAT = "maskwork-annotation"
VERSION = 1


# ---- label maps ------------------------------------------------------------------------------
def encode_label_map(label_map: np.ndarray) -> dict:
    dtype = np.uint16 if label_map.dtype == np.uint16 or label_map.max(initial=0) > 255 else np.uint8
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(label_map.astype(dtype)), [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise ValueError("could not encode the label map as PNG")
    return {"png": base64.b64encode(buf.tobytes()).decode("ascii"), "dtype": np.dtype(dtype).name}


def _png_shape(data: bytes) -> tuple[int, int] | None:
    """(height, width) from a PNG's IHDR chunk (bytes 16..24), None when `data` is not a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[20:24], "big"), int.from_bytes(data[16:20], "big")


def decode_label_map(item: dict, shape: tuple[int, int], where: str) -> np.ndarray:
    try:
        data = base64.b64decode(item["png"])
        header = _png_shape(data)
        if header is not None and header != tuple(shape):  # refused from its header: never decoded
            raise InputError(f"{where}: the stored label map has shape {header}, expected {tuple(shape)}; "
                             "the file is damaged; restore it from a backup.")
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{where}: the stored label map cannot be decoded ({exc}).") from exc
    if arr is None or arr.ndim != 2 or arr.shape != tuple(shape):
        got = None if arr is None else arr.shape
        raise InputError(f"{where}: the stored label map has shape {got}, expected {tuple(shape)}; "
                         "the file is damaged; restore it from a backup.")
    return arr.astype(np.dtype(item.get("dtype", "uint8")), copy=False)


# ---- instances -------------------------------------------------------------------------------
def encode_mask(mask: Mask) -> dict:
    crop = np.asfortranarray(mask.crop.astype(np.uint8))
    rle = mask_utils.encode(crop)
    return {"x0": mask.x0, "y0": mask.y0,
            "rle": {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}}


def decode_mask(item: dict, height: int, width: int) -> Mask:
    rle = item["rle"]
    h, w = rle["size"]
    if h == 0 or w == 0:
        return Mask.empty(height, width)
    crop = Mask.from_rle(rle)  # strict: a damaged RLE raises instead of giving garbage
    return Mask.from_crop(height, width, int(item["x0"]) + crop.x0, int(item["y0"]) + crop.y0, crop.crop)


def encode_instance(inst: Instance) -> dict:
    return {"id": inst.id, "class_id": inst.class_id, **encode_mask(inst.mask), "score": inst.score,
            "box": None if inst.box is None else [float(v) for v in inst.box],
            "source": Source(inst.source).value, "iscrowd": bool(inst.iscrowd)}


def decode_instance(item: dict, height: int, width: int) -> Instance:
    return Instance(id=int(item["id"]), class_id=int(item["class_id"]), mask=decode_mask(item, height, width),
                    score=None if item.get("score") is None else float(item["score"]),
                    box=None if item.get("box") is None else as_box(item["box"]),
                    source=Source(item.get("source", Source.PERSON.value)), iscrowd=bool(item.get("iscrowd")))


def encode_layer(layer: Layer) -> dict:
    return {"label_map": None if layer.label_map is None else encode_label_map(layer.label_map),
            "instances": [encode_instance(i) for i in layer.instances]}


def decode_layer(item: dict, height: int, width: int, where: str) -> Layer:
    lm = item.get("label_map")
    return Layer(label_map=None if lm is None else decode_label_map(lm, (height, width), where),
                 instances=[decode_instance(i, height, width) for i in item.get("instances", [])])


# ---- whole annotation ------------------------------------------------------------------------
def annotation_to_dict(ann: ImageAnnotation) -> dict:
    return {
        "format": FORMAT, "version": VERSION, "file_name": ann.file_name,
        "width": ann.width, "height": ann.height, "status": Status(ann.status).value,
        "saved_ns": time.time_ns(),
        "corrected": encode_layer(ann.corrected),
        "prediction": None if ann.prediction is None else encode_layer(ann.prediction),
        "prediction_info": None if ann.prediction_info is None else asdict(ann.prediction_info),
    }


def annotation_from_dict(doc: dict, where: str) -> ImageAnnotation:
    """Rebuild an annotation; `where` (the file path) goes into every error message."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{where} is not a Maskwork annotation file (no 'format': '{FORMAT}').")
    if int(doc.get("version", 0)) > VERSION:
        raise InputError(f"{where} was written by a newer Maskwork (format version {doc['version']}); "
                         "update Maskwork to open it.")
    try:
        h, w = int(doc["height"]), int(doc["width"])
        info = doc.get("prediction_info")
        return ImageAnnotation(
            file_name=str(doc["file_name"]), width=w, height=h,
            corrected=decode_layer(doc.get("corrected") or {}, h, w, where),
            prediction=None if doc.get("prediction") is None else decode_layer(doc["prediction"], h, w, where),
            prediction_info=None if info is None else PredictionInfo(**info),
            status=Status(doc.get("status", Status.NOT_STARTED.value)),
        )
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{where} is damaged ({type(exc).__name__}: {exc}); restore it from a backup "
                         "or delete it to start this image again.") from exc
