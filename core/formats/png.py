"""PNG masks: VOC-style palette label maps and 16-bit instance-id maps, read and written losslessly.

Label PNG: 8-bit palette image whose pixel value is the class id; the palette holds the class
colours (16-bit greyscale when there are more than 256 classes). Class names come from a sidecar
`classes.json` ([{"id", "name", "color"}], the aerial dataset format) in the mask folder or its
parent. Instance PNG: 16-bit, pixel value = 1..N (0 = none), with `<stem>.json` beside it mapping
each value to its instance id, class and score. All writes are atomic.
"""
from __future__ import annotations

import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from maskwork.core.domain.annotation import ClassList, Instance, Source, rgb_to_hex
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.store import bounded
from maskwork.core.store.atomic import json_bytes, write_bytes_atomic
from maskwork.core.store.images import open_image
from maskwork.core.store.schemas import loads

CLASSES_SIDECAR = "classes.json"
MAX_CLASS_ID = 65535  # pixel values of a 16-bit label map
INSTANCE_FORMAT = "maskwork-instance-png"


# ---- class list sidecar ----------------------------------------------------------------------
def find_classes_sidecar(folder: str | Path) -> Path | None:
    folder = Path(folder)
    for candidate in (folder / CLASSES_SIDECAR, folder.parent / CLASSES_SIDECAR):
        if candidate.is_file():
            return candidate
    return None


def read_classes_json(path: str | Path) -> ClassList:
    path = Path(path)
    try:
        items = loads(bounded.read_bytes(path, limit=bounded.SMALL_JSON, what="class list"), str(path))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} cannot be read as JSON ({exc}); fix it or remove it.") from exc
    if isinstance(items, dict) and "classes" in items:
        items = items["classes"]
    if not isinstance(items, list) or not all(isinstance(i, dict) and "id" in i and "name" in i for i in items):
        raise InputError(f"{path} must be a list of {{\"id\", \"name\", \"color\"}} objects (one per class).")
    bad = next((i["id"] for i in items if not _class_id_ok(i["id"])), None)
    if bad is not None:
        raise InputError(f"{path}: class id {bad!r} is not a whole number from 0 to {MAX_CLASS_ID}; fix that id.")
    try:
        return ClassList.from_list(items)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: {exc}; class ids and names must be unique.") from exc


def _class_id_ok(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_CLASS_ID


def write_classes_json(path: str | Path, classes: ClassList) -> None:
    write_bytes_atomic(path, json_bytes(classes.to_list(), indent=1))


# ---- label maps ------------------------------------------------------------------------------
@contextmanager
def _open(path: Path, what: str = "mask") -> Iterator[Image.Image]:
    """The mask as a lazily decoded Pillow image: a regular file whose header is within the pixel cap."""
    if not path.exists():
        raise InputError(f"{what} {path} does not exist.")
    try:
        with open_image(path, what=what) as img:
            yield img
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"mask {path} cannot be read ({exc}); it is damaged or not a PNG. "
                         "Export it again.") from exc


def read_png_palette(path: str | Path) -> dict[int, str]:
    """index -> "#RRGGBB" of a palette PNG ({} for non-palette images)."""
    with _open(Path(path)) as img:
        palette = img.getpalette() if img.mode == "P" else None
    if palette is None:
        return {}
    pal = np.array(palette, np.uint8).reshape(-1, 3)
    return {i: rgb_to_hex(pal[i]) for i in range(len(pal))}


def _map_colours(path: Path, rgb: np.ndarray, classes: ClassList | None) -> np.ndarray:
    """An RGB colour mask -> class ids, through the class colours (every colour must be known)."""
    if classes is None or not len(classes):
        raise InputError(f"mask {path} is an RGB colour image, not class ids; give a classes.json with "
                         "the colour of each class so the colours can be mapped.")
    key = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    lut = {(r << 16) | (g << 8) | b: c.id for c in classes for r, g, b in [c.rgb]}
    colours, inverse = np.unique(key, return_inverse=True)
    unknown = [f"#{int(v):06X}" for v in colours if int(v) not in lut]
    if unknown:
        raise InputError(f"mask {path} uses colours that match no class: {', '.join(unknown[:5])}; add them to "
                         "classes.json or fix the mask.")
    ids = np.array([lut[int(v)] for v in colours])
    dtype = np.uint16 if ids.max(initial=0) > 255 else np.uint8
    return ids[inverse].reshape(key.shape).astype(dtype)


def read_label_png(path: str | Path, classes: ClassList | None = None) -> np.ndarray:
    """(H, W) class ids: palette/grey PNGs as stored; RGB masks mapped through the class colours."""
    path = Path(path)
    with _open(path) as img:
        return _label_ids(path, img, classes)


def read_object_png(path: str | Path) -> np.ndarray:
    """(H, W) bool, one object's mask: every non-zero pixel of a palette / grey / 16-bit PNG, or of any colour
    channel of an RGB(A) one (a white-on-black mask saved by an image editor; its alpha when every colour is 0)."""
    path = Path(path)
    with _open(path) as img:
        if img.mode not in ("RGB", "RGBA", "LA"):
            return _label_ids(path, img, None) > 0
        arr = np.array(img)
    colour = arr[..., :-1] if img.mode in ("RGBA", "LA") else arr
    mask = np.asarray(colour.any(axis=-1), bool)
    return mask if mask.any() or img.mode == "RGB" else np.asarray(arr[..., -1] > 0)


def _label_ids(path: Path, img: Image.Image, classes: ClassList | None) -> np.ndarray:
    if img.mode in ("P", "L"):
        return np.array(img, dtype=np.uint8)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.array(img)
        if arr.min(initial=0) < 0 or arr.max(initial=0) > 65535:
            raise InputError(f"mask {path} holds values outside 0..65535; class ids must be small integers.")
        return arr.astype(np.uint16)
    if img.mode in ("RGB", "RGBA"):
        return _map_colours(path, np.array(img.convert("RGB")), classes)
    raise InputError(f"mask {path} has image mode {img.mode}; use an 8-bit palette or greyscale PNG of class ids.")


def encode_label_png(label_map: np.ndarray, classes: ClassList | None = None) -> bytes:
    if label_map.ndim != 2:
        raise ValueError(f"a label map is (H, W), got shape {label_map.shape}")
    if label_map.dtype != np.uint8 and label_map.max(initial=0) > 255:
        ok, buf = cv2.imencode(".png", np.ascontiguousarray(label_map.astype(np.uint16)))
        if not ok:
            raise ValueError("could not encode the 16-bit label map")
        return buf.tobytes()
    img = Image.fromarray(np.ascontiguousarray(label_map.astype(np.uint8)), mode="P")
    palette = (classes or ClassList()).palette(256)
    img.putpalette(palette.ravel().tolist())
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def write_label_png(path: str | Path, label_map: np.ndarray, classes: ClassList | None = None) -> None:
    write_bytes_atomic(path, encode_label_png(label_map, classes))


def classes_from_palette(path: str | Path, ids) -> ClassList:
    """Classes for ids found in masks when no classes.json exists: named "class N", palette colours."""
    palette = read_png_palette(path)
    classes = ClassList()
    for cid in sorted(int(i) for i in ids):
        classes.add("background" if cid == 0 else f"class {cid}", palette.get(cid), cid)
    return classes


# ---- instance maps ---------------------------------------------------------------------------
def instance_sidecar(path: str | Path) -> Path:
    return Path(path).with_suffix(".json")


def write_instance_png(path: str | Path, instances: list[Instance], height: int, width: int,
                       classes: ClassList | None = None) -> int:
    """Write the 16-bit map and its JSON sidecar; returns the pixels lost to overlaps (later wins)."""
    if len(instances) > 65535:
        raise ValueError(f"{len(instances)} instances do not fit a 16-bit PNG (at most 65535)")
    canvas = np.zeros((height, width), np.uint16)
    overlap = 0
    items = []
    names = {c.id: c.name for c in classes} if classes else {}
    for value, inst in enumerate(instances, start=1):
        m = inst.mask
        if not m.is_empty:
            window = canvas[m.y0:m.y1, m.x0:m.x1]
            overlap += int(np.count_nonzero(window[m.crop]))
            window[m.crop] = value
        items.append({"value": value, "id": inst.id, "class_id": inst.class_id,
                      "class_name": names.get(inst.class_id), "iscrowd": bool(inst.iscrowd),
                      # JSON has no NaN: an unknown score is written as null
                      "score": inst.score if inst.score is None or math.isfinite(inst.score) else None,
                      "source": Source(inst.source).value})
    ok, buf = cv2.imencode(".png", canvas)
    if not ok:
        raise ValueError("could not encode the instance map")
    write_bytes_atomic(path, buf.tobytes())
    write_bytes_atomic(instance_sidecar(path), json_bytes(
        {"format": INSTANCE_FORMAT, "width": width, "height": height, "overlap_pixels": overlap,
         "instances": items}, indent=1))
    return overlap


def is_instance_png(path: str | Path) -> bool:
    side = instance_sidecar(path)
    if not side.is_file():
        return False
    try:
        return loads(bounded.read_bytes(side, limit=bounded.SMALL_JSON, what="instance sidecar")
                     ).get("format") == INSTANCE_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def read_instance_png(path: str | Path) -> list[Instance]:
    """Instances of a 16-bit instance PNG (values without a sidecar entry get class 1)."""
    path = Path(path)
    with _open(path, "instance mask"):
        pass  # refuses a FIFO, a device or a header above the pixel cap before anything is decoded
    try:
        data = bounded.read_bytes(path, limit=bounded.IMAGE_FILE, what="instance mask")
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except (OSError, cv2.error):  # missing or empty file
        arr = None
    if arr is None or arr.ndim != 2:
        raise InputError(f"instance mask {path} cannot be read as a single-channel PNG; export it again.")
    side = instance_sidecar(path)
    meta = {}
    if side.is_file():
        try:
            raw = bounded.read_bytes(side, limit=bounded.SMALL_JSON, what="instance sidecar")
            meta = {int(i["value"]): i for i in loads(raw, str(side)).get("instances", [])}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{side} is damaged ({exc}); fix or delete it.") from exc
    h, w = arr.shape
    from scipy.ndimage import find_objects  # here, not at the top: scipy.ndimage costs ~0.3 s of start-up

    boxes = find_objects(arr.astype(np.int32))  # bounding slices per value: no full-image scan each
    values = sorted({v + 1 for v, sl in enumerate(boxes) if sl is not None} | set(meta))
    out = []
    for v in values:
        info = meta.get(v, {})
        score, class_id = info.get("score"), info.get("class_id", 1)
        if not _class_id_ok(class_id) or not (score is None or (isinstance(score, (int, float)) and
                                                                not isinstance(score, bool) and math.isfinite(score))):
            raise InputError(f"{side}: value {v} has class_id {class_id!r:.40} and score {score!r:.40}; class ids are "
                             f"whole numbers 0..{MAX_CLASS_ID} and scores finite numbers or null. Fix that entry.")
        sl = boxes[v - 1] if v - 1 < len(boxes) else None
        mask = Mask.empty(h, w) if sl is None else Mask.from_crop(h, w, sl[1].start, sl[0].start, arr[sl] == v)
        out.append(Instance(id=int(info.get("id", v)), class_id=class_id,
                            mask=mask, score=None if score is None else float(score),
                            source=Source(info.get("source", Source.PERSON.value)),
                            iscrowd=bool(info.get("iscrowd", False))))
    return out
