"""Resume hashes: a rerun skips an image already predicted with the same model and settings.

    run = run_key(parcel.fingerprint, {"score_threshold": 0.5, ...})   # the model's bytes + settings
    key = image_key(run, path)                                         # + the image file as it is now

The per-image key is stored with each result (a project's prediction_info.run_key, or the progress
log beside a COCO / PNG output). An image whose file changed (size or modification time), a different
model file, int8 instead of float, or another threshold or class mapping gets a new key and is
predicted again. Workers, threads and devices are not part of it: they change only float rounding.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def run_key(model_fingerprint: str, settings: dict) -> str:
    text = json.dumps({"model": model_fingerprint, "settings": settings}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def image_key(run: str, path: str | Path) -> str:
    """The run's key bound to this image file; an unreadable stat gives a key nothing matches."""
    try:
        st = os.stat(path)
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        stamp = "missing"
    return hashlib.sha256(f"{run}\x1f{stamp}".encode()).hexdigest()[:32]
