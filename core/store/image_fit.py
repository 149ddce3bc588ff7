"""Is a stored annotation still about its image? Masks are drawn on an image of one size; a file replaced on
disk by one of another size (or a stored document whose size was damaged) must be caught before anything
trusts it: export would write the old size, training would learn masks that lie where the pixels no longer
are, and a damaged 30000x30000 label map would be decoded (900 MB) for a 640x480 photo.

Project._load checks the stored width/height against the image header (core.store.images.image_size: header only)
before the document's masks are decoded; recovery checks autosave snapshots the same way. The user is told the
image, both sizes and what to do: put the original back, or `maskwork forget-image` (core/store/forget.py).
"""
from __future__ import annotations

import shlex
from pathlib import Path

from maskwork.core.domain.errors import InputError
from maskwork.core.store.images import image_size


class ImageSizeChanged(InputError):
    """The image file is not the size its stored masks were drawn on."""

    def __init__(self, message: str, name: str, image: tuple[int, int], stored: tuple[int, int]) -> None:
        super().__init__(message)
        self.name, self.image, self.stored = name, image, stored


def changed_message(name: str, image: tuple[int, int], stored: tuple[int, int], folder: Path | None) -> str:
    project = shlex.quote(str(folder)) if folder is not None else "PROJECT"
    return (f"image {name} is now {image[0]}x{image[1]} but its masks were drawn on {stored[0]}x{stored[1]}: put "
            f"the original image back, or run `maskwork forget-image {project} {shlex.quote(name)}` to set its "
            "annotations aside (kept under .maskwork/forgotten/) and start that image again.")


def stored_size(doc: object) -> tuple[int, int] | None:
    """(width, height) a stored annotation document says, None when it says no usable size (its reader
    reports that as damage)."""
    if not isinstance(doc, dict):
        return None
    try:
        return int(doc["width"]), int(doc["height"])
    except (KeyError, TypeError, ValueError):
        return None


def check_fits(name: str, image_path: Path, stored: tuple[int, int] | None, folder: Path | None) -> None:
    """Raise ImageSizeChanged when the image file's size is not `stored` (width, height).

    An image that is missing or cannot be read is not judged here: opening it says what is wrong."""
    if stored is None:
        return
    try:
        image = image_size(image_path)
    except (InputError, OSError):
        return
    if image != stored:
        raise ImageSizeChanged(changed_message(name, image, stored, folder), name, image, stored)
