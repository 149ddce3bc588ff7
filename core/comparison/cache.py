"""Predictions kept per model and image, so a second comparison against a third model costs only that model.

A file per (model, image): the model is named by a hash of its weights (and, for int8, of how it was
calibrated), the image by a hash of its decoded pixels, with the data's class names, so an edited
image, retrained weights or another class list is a miss, never a stale hit. Semantic: the label map in the
data's class ids (.npz); instance: COCO result records with RLE masks (.json). A damaged file is a miss.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from maskwork.core.domain.errors import InputError
from maskwork.core.store import bounded
from maskwork.core.store.atomic import write_bytes_atomic
from maskwork.core.store.schemas import CachedPrediction, load_json

log = logging.getLogger(__name__)

FORMAT = 1


def default_cache_dir() -> Path:
    override = os.environ.get("MASKWORK_CACHE_DIR")
    base = Path(override) if override else Path.home() / ".cache" / "maskwork"
    return base / "comparisons"


def model_key(predictor, float_model, calibration: str | None) -> str:
    """What decides a model's outputs: its weights (the float model's, for int8 plus how it was calibrated)."""
    h = hashlib.blake2b(digest_size=12)
    spec = getattr(predictor, "spec", None)
    h.update(f"{FORMAT}:{getattr(spec, 'name', predictor)}:{getattr(spec, 'input', '')}".encode())
    weights = float_model if float_model is not None else getattr(predictor, "model", None)
    from torch import nn

    if isinstance(weights, nn.Module):
        from maskwork.core.models.int8.quant.cache import weights_fingerprint

        h.update(weights_fingerprint(weights).encode())
    else:  # an ONNX model: its file
        for value in vars(getattr(spec, "source", None) or object()).values() if spec is not None else ():
            if isinstance(value, (str, Path)) and Path(value).is_file():
                st = Path(value).stat()
                h.update(f"{value}:{st.st_size}:{st.st_mtime_ns}".encode())
    if float_model is not None or getattr(predictor, "int8", False):
        h.update(f"int8:{calibration}".encode())
    return h.hexdigest()


def image_key(rgb: np.ndarray, class_names: list[str]) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update(str((rgb.shape, rgb.dtype, class_names)).encode())
    h.update(np.ascontiguousarray(rgb).data)
    return h.hexdigest()


class PredictionCache:
    """get/put of one model's predictions; `None` folder keeps nothing (every call is a miss)."""

    def __init__(self, folder: Path | None, model: str) -> None:
        self.folder = folder / model if folder is not None else None
        self.hits = self.misses = 0

    def _path(self, image: str, suffix: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{image}{suffix}"

    def get(self, image: str) -> dict | None:
        found = self._read(image) if self.folder is not None else None
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def _read(self, image: str) -> dict | None:
        npz, js = self._path(image, ".npz"), self._path(image, ".json")
        try:
            if npz.is_file():
                with np.load(bounded.check_file(npz, limit=bounded.IMAGE_FILE, what="cached prediction"),
                             allow_pickle=False) as f:
                    return {"label_map": f["label_map"], "latency_ms": float(f["latency_ms"])}
            if js.is_file():
                doc = load_json(js, CachedPrediction)  # a damaged entry is predicted again
                return {"detections": doc["detections"], "latency_ms": float(doc["latency_ms"])}
        except (OSError, ValueError, KeyError, TypeError, InputError) as exc:
            log.info("comparison cache: %s unreadable (%s), predicting again", image, exc)
        return None

    def put(self, image: str, prediction: dict) -> None:
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if prediction.get("label_map") is not None:
                import io

                buf = io.BytesIO()
                np.savez_compressed(buf, label_map=prediction["label_map"],
                                    latency_ms=np.float64(prediction["latency_ms"]))
                write_bytes_atomic(self._path(image, ".npz"), buf.getvalue())
            else:
                doc = {"detections": prediction["detections"], "latency_ms": prediction["latency_ms"]}
                write_bytes_atomic(self._path(image, ".json"), json.dumps(doc).encode())
        except OSError as exc:  # a full or read-only cache only costs the next run its time
            log.warning("comparison cache: cannot keep %s (%s)", image, exc)
