"""Reading images from disk as (H, W, 3) uint8 RGB, the one format the rest of Maskwork sees.

Pillow decodes (it understands EXIF orientation, palettes, 16-bit and most formats); OpenCV is the
fallback for what Pillow cannot open (e.g. some 16-bit TIFFs). Sizes come from the header only.
"""
from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from maskwork.core.domain.errors import InputError
from maskwork.core.store import bounded

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")

# Above this many pixels an image is refused: one 200 MP RGB image already costs 600 MB in memory.
MAX_PIXELS = 200_000_000
EXIF_ORIENTATION = 0x0112  # the EXIF tag that says how the camera was held
# Pillow refuses images above 2x its own limit (~179 MP) before we can look at them; align it with
# ours so our clear message (with the size and what to do) is the one users see.
if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < MAX_PIXELS:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# EXIF orientations that swap width and height (rotations by 90 / 270 degrees, transposes).
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}
_EXIF_ORIENTATION_TAG = 0x0112


def is_image_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def list_images(root: Path, exclude_dirs: Iterable[str] = ()) -> list[str]:
    """Image files under `root` (subfolders too), sorted, with forward slashes. Hidden files and folders are
    skipped, and the folders of `exclude_dirs` (relative to root, e.g. a masks/ folder)."""
    names: list[str] = []
    excluded = {str(d).strip("/") for d in exclude_dirs}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and (rel / d).as_posix() not in excluded]
        names.extend((rel / f).as_posix() for f in filenames if is_image_file(f) and not f.startswith("."))
    return sorted(names)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"image {path} does not exist; check the path or move the file back.")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not an image file.")
    bounded.check_file(path, limit=bounded.IMAGE_FILE, what="image")  # a FIFO or /dev/zero is refused here
    if path.stat().st_size == 0:
        raise InputError(f"image {path} is empty (0 bytes); the file was not copied completely. "
                         "Copy it again from its source.")


def _check_pixels(path: Path, width: int, height: int, what: str = "image") -> None:
    if width * height > MAX_PIXELS:
        raise InputError(f"{what} {path} is too large: {width}x{height} ({width * height / 1e6:.0f} MP), above the "
                         f"{MAX_PIXELS / 1e6:.0f} MP limit; split it into tiles or downscale it first.")
    if width <= 0 or height <= 0:
        raise InputError(f"{what} {path} has no pixels ({width}x{height}); the file is damaged.")


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(_EXIF_ORIENTATION_TAG, 1) or 1)
    except Exception:  # damaged EXIF block: ignore it, the pixels are still fine
        return 1


def _too_large(path: Path, exc: Exception, what: str = "image") -> InputError:
    """Pillow refused the header's size as a decompression bomb: say so without decoding anything."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    size = f" ({int(found.group(1)) / 1e6:.0f} MP)" if found else ""
    return InputError(f"{what} {path} is too large{size}, above the {MAX_PIXELS / 1e6:.0f} MP limit; "
                      "split it into tiles or downscale it first.")


@contextmanager
def open_image(path: str | Path, what: str = "image") -> Iterator[Image.Image]:
    """A lazily decoding Pillow image of a regular file whose header is within MAX_PIXELS: the one way
    core opens an image or mask file. Pillow's own bomb refusal becomes the same sentence as ours.
    Pillow's other errors (not an image, damaged) pass through for the caller to word."""
    path = Path(path)
    with bounded.open_binary(path, limit=bounded.IMAGE_FILE, what=what) as fh:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img = Image.open(fh)  # bounded-read: fh is the vetted regular file above
        except Image.DecompressionBombError as exc:  # never decode it to learn the size (5 GB for 30000^2)
            raise _too_large(path, exc, what) from exc
        with img:
            _check_pixels(path, *img.size, what=what)
            yield img


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) as read_image will return it (EXIF rotation applied), from the header only.

    An image above MAX_PIXELS is refused as too large (InputError), since read_image would refuse it."""
    path = Path(path)
    _check_file(path)
    try:
        with open_image(path) as img:
            w, h = img.size
            if _orientation(img) in _SWAPPING_ORIENTATIONS:
                w, h = h, w
    except (UnidentifiedImageError, OSError, ValueError):
        data = _decode_cv2(path)  # rare formats Pillow cannot parse: decode to learn the size
        h, w = data.shape[:2]
    _check_pixels(path, int(w), int(h))
    return int(w), int(h)


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale 16-bit / float data to 0..255 by the image's own range (microscopy uses a few bits)."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    data = arr.astype(np.float64)
    finite = np.isfinite(data)
    if not finite.any():
        return np.zeros(arr.shape, np.uint8)
    lo, hi = float(data[finite].min()), float(data[finite].max())
    if hi <= lo:
        return np.zeros(arr.shape, np.uint8) if hi <= 0 else np.full(arr.shape, 255, np.uint8)
    scaled = (np.where(finite, data, lo) - lo) * (255.0 / (hi - lo))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _to_rgb(arr: np.ndarray) -> np.ndarray:
    arr = _to_uint8(arr)
    if arr.ndim == 2:
        return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
    if arr.shape[2] == 1:
        return np.ascontiguousarray(np.repeat(arr, 3, axis=2))
    if arr.shape[2] == 2:  # grey + alpha
        return np.ascontiguousarray(np.repeat(arr[:, :, :1], 3, axis=2))
    return np.ascontiguousarray(arr[:, :, :3])


def _decode_pillow(path: Path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with open_image(path) as img:
            if img.getexif().get(EXIF_ORIENTATION, 1) != 1:  # exif_transpose copies even upright images
                img = ImageOps.exif_transpose(img)
            if img.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1", "LA", "RGBA", "RGBX", "RGBa"):
                img = img.convert("RGB")
            if img.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
                arr = np.array(img, dtype=np.uint16)
            else:
                arr = np.asarray(img)
    return arr


def _decode_cv2(path: Path) -> np.ndarray:
    try:  # imdecode handles non-ASCII paths, imread does not everywhere
        data = bounded.read_bytes(path, limit=bounded.IMAGE_FILE, what="image")
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except (OSError, cv2.error):
        arr = None
    if arr is None:
        raise InputError(f"{path} is not an image Maskwork can read (or it is damaged, or above the "
                         f"{MAX_PIXELS / 1e6:.0f} MP limit). Supported: {', '.join(IMAGE_SUFFIXES)}. Re-export it as "
                         "PNG or JPEG, in tiles if it is that large.")
    if arr.ndim == 3 and arr.shape[2] >= 3:
        arr = cv2.cvtColor(arr[:, :, :3], cv2.COLOR_BGR2RGB)
    return arr


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file to a C-contiguous (H, W, 3) uint8 RGB array, EXIF orientation applied.

    Grayscale is replicated to 3 channels, alpha is dropped, 16-bit/float data is scaled to 8-bit by
    the image's range. Raises InputError naming the file for missing, empty, truncated, unreadable
    or oversized images.
    """
    path = Path(path)
    _check_file(path)
    try:
        arr = _decode_pillow(path)
    except InputError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, TypeError) as exc:
        if "truncated" in str(exc).lower():
            raise InputError(f"image {path} is truncated (the file ends early: {exc}); it was not copied "
                             "completely. Copy it again from its source.") from exc
        arr = _decode_cv2(path)
        _check_pixels(path, arr.shape[1], arr.shape[0])
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise InputError(f"image {path} has an unsupported layout {arr.shape}; save it as an RGB PNG or JPEG.")
    return _to_rgb(arr)
