"""What a model file declares about itself, checked before anything is sized by it.

A model's metadata (Maskwork's maskwork.* entries, Ultralytics' names/imgsz/stride, a sidecar, --classes,
a checkpoint's "input") decides how big the buffers of every later predict are: a class id of 10^12 or an
imgsz of 60000 is accepted silently and costs hundreds of gigabytes later. Each value is checked here, at
registration and load, and refused in one sentence naming the file and the field.
"""
from __future__ import annotations

import math
import re
from collections import Counter

from maskwork.core.domain.annotation import DEFAULT_COLORS, MAX_CLASSES
from maskwork.core.domain.errors import ModelError

MAX_MODEL_SIDE = 4096   # input side of a model (imgsz, resize, tile, max_size): 4096^2 x 3 floats = 200 MB
MIN_MODEL_SIDE = 16
MAX_DETECTIONS = 10_000
HEX = re.compile(r"#[0-9A-Fa-f]{6}")


def _whole(value, where: str, field: str, low: int, high: int) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool)
    if isinstance(value, float) and value.is_integer():
        value, ok = int(value), True
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,9}\s*", value):
        value, ok = int(value), True
    if not ok or not low <= value <= high:
        raise ModelError(f"{where}: {field} is {value!r:.40}, expected a whole number from {low} to {high}; "
                         "fix the model's metadata or export it again.")
    return int(value)


def _number(value, where: str, field: str, low: float, high: float) -> float:
    try:
        ok = not isinstance(value, bool) and math.isfinite(float(value)) and low <= float(value) <= high
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ModelError(f"{where}: {field} is {value!r:.40}, expected a number from {low:g} to {high:g}; "
                         "fix the model's metadata or export it again.")
    return float(value)


def _triple(value, where: str, field: str, low: float) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise ModelError(f"{where}: {field} is {value!r:.60}, expected three numbers (R, G, B); fix the model's "
                         "metadata or export it again.")
    return tuple(_number(v, where, f"{field}[{k}]", low, 1e4) for k, v in enumerate(value))


_SIDE = (MIN_MODEL_SIDE, MAX_MODEL_SIDE)
POLICY_FIELDS = {  # InputPolicy field -> its check
    "min_size": lambda v, w: _whole(v, w, "min_size", *_SIDE),
    "max_size": lambda v, w: _whole(v, w, "max_size", *_SIDE),
    "resize": lambda v, w: _whole(v, w, "resize", *_SIDE),
    "tile": lambda v, w: _whole(v, w, "tile", *_SIDE),
    "overlap": lambda v, w: _whole(v, w, "overlap", 0, MAX_MODEL_SIDE - 1),
    "detections_per_img": lambda v, w: _whole(v, w, "detections_per_img", 1, MAX_DETECTIONS),
    "scale": lambda v, w: _number(v, w, "scale", 0.01, 8.0),
    "mean": lambda v, w: _triple(v, w, "mean", -1e4),
    "std": lambda v, w: _triple(v, w, "std", 1e-6),
}


def checked_policy(values: dict, where: str = "input policy") -> dict:
    """The known fields of an input policy, each converted and within bounds (unknown keys dropped)."""
    if not isinstance(values, dict):
        raise ModelError(f"{where}: the input policy is {values!r:.60}, expected an object of fields.")
    return {k: check(values[k], where) for k, check in POLICY_FIELDS.items() if k in values}


def checked_class_list(items, where: str) -> list[dict]:
    """[{id, name, color}] with whole ids 0..MAX_CLASSES-1, unique ids and names, #RRGGBB colours."""
    if not isinstance(items, list) or not items or len(items) > MAX_CLASSES:
        raise ModelError(f"{where}: the classes must be a list of 1 to {MAX_CLASSES:,} {{id, name, color}} "
                         "entries; fix the model's metadata or export it again.")
    out = []
    for k, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise ModelError(f"{where}: class {k} is {item!r:.60}, expected {{id, name, color}} with a name.")
        color = item.get("color") or DEFAULT_COLORS[k % len(DEFAULT_COLORS)]
        if not isinstance(color, str) or not HEX.fullmatch(color):
            raise ModelError(f"{where}: class {item['name']!r:.40} has colour {color!r:.40}, expected #RRGGBB.")
        out.append({"id": _whole(item.get("id"), where, f"the id of class {item['name']!r:.40}", 0, MAX_CLASSES - 1),
                    "name": item["name"], "color": color})
    _unique([c["id"] for c in out], where, "class id")
    _unique([c["name"] for c in out], where, "class name")
    return out


def _unique(values: list, where: str, what: str) -> None:
    twice = [v for v, n in Counter(values).items() if n > 1]
    if twice:
        raise ModelError(f"{where}: the {what} {twice[0]!r:.40} is given twice; {what}s must be unique.")


def checked_names(names, where: str) -> list[str]:
    """Class names in index order from a list or a {index: name} dict (keys 0..n-1, ints or digit strings)."""
    if isinstance(names, dict):
        try:
            keyed = {int(str(k).strip()): v for k, v in names.items()}
        except ValueError:
            raise ModelError(f"{where}: the class names are keyed by {sorted(map(str, names))[:5]}, expected the "
                             "indices 0, 1, 2, ...; fix the model's metadata.") from None
        if sorted(keyed) != list(range(len(keyed))) or len(keyed) != len(names):
            raise ModelError(f"{where}: the class names are keyed {sorted(map(str, names))[:5]}..., expected each "
                             "index 0, 1, 2, ... once; fix the model's metadata.")
        names = [keyed[k] for k in range(len(keyed))]
    if not isinstance(names, (list, tuple)) or not names or len(names) > MAX_CLASSES:
        raise ModelError(f"{where}: the class names must be a list of 1 to {MAX_CLASSES:,} names.")
    if not all(isinstance(n, (str, int)) and not isinstance(n, bool) and str(n).strip() for n in names):
        raise ModelError(f"{where}: every class name must be a non-empty text; fix the model's metadata.")
    out = [str(n).strip() for n in names]
    _unique(out, where, "class name")
    return out


def background_name(names: list[str]) -> str:
    """The name of the placeholder class 0 in front of a model's own classes: one none of them uses."""
    return next(n for n in ("background", "no object", "(none)", "_background") if n not in names)


def checked_imgsz(value, where: str) -> tuple[int, int]:
    """Ultralytics' imgsz (one side or [h, w]) within MIN..MAX_MODEL_SIDE."""
    sides = [value] if not isinstance(value, (list, tuple)) else list(value)
    if not 1 <= len(sides) <= 2:
        raise ModelError(f"{where}: imgsz is {value!r:.40}, expected one size or [height, width].")
    h, w = (_whole(s, where, "imgsz", *_SIDE) for s in (sides * 2)[:2])
    return h, w
