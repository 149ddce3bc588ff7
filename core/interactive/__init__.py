"""Interactive segmentation without weights: a box, clicks or strokes become a mask, or fix one.

`TOOLS` is the table the GUI toolbar and the `segment` command read; `segment(tool, image, prompt)`
runs one. Every tool works on a window around the prompt (core/interactive/window.py), never the
whole image, and returns a Mask in full-image coordinates. `snap_path` is the edge-following
segment between two clicks of the snapping outline.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.interactive.prompt import Prompt, Stroke


def _lazy(module: str, name: str) -> Callable[[np.ndarray, Prompt], Mask]:
    """The tool function, imported on first use: reading the table (CLI --help, toolbar) stays cheap."""
    def run(image: np.ndarray, prompt: Prompt) -> Mask:
        return getattr(importlib.import_module(module), name)(image, prompt)

    run.__name__ = run.__qualname__ = f"{module}.{name}"
    return run


@dataclass(frozen=True)
class ToolSpec:
    name: str
    label: str
    needs: frozenset[str]          # prompt parts read: "box", "points", "strokes", "tolerance", "mask" (the object
    #                                to fix); "model": weights
    run: Callable[[np.ndarray, Prompt], Mask]
    hint: str = ""                 # one line for the status bar when the tool is picked
    starts_with: str = "box"       # what the first gesture gives: "box", "point", "stroke"; "mask": an object


TOOLS: dict[str, ToolSpec] = {
    "grabcut": ToolSpec(
        "grabcut", "Box to mask", frozenset({"box", "points", "strokes"}),
        _lazy("maskwork.core.interactive.grabcut", "grabcut"),
        "Drag a box around the object; click inside to add (left) or remove (right) parts; Enter commits.",
        "box"),
    "wand": ToolSpec(
        "wand", "Magic wand", frozenset({"box", "points", "strokes", "tolerance"}),
        _lazy("maskwork.core.interactive.wand", "wand"),
        "Click a region of similar colour; the wheel changes the tolerance; right click removes; Enter commits.",
        "point"),
    "scribble": ToolSpec(
        "scribble", "Scribbles", frozenset({"box", "points", "strokes"}),
        _lazy("maskwork.core.interactive.scribble", "scribble"),
        "Scribble on the object (left) and on the background (right); Enter commits.",
        "stroke"),
    "fix": ToolSpec(
        "fix", "Fix with clicks", frozenset({"mask", "points", "strokes"}),
        _lazy("maskwork.core.interactive.fix", "fix"),
        "Click where the selected object is missing (left) or too much (right); Enter keeps.",
        "mask"),
    # needs a model chosen first (core.interactive.sam.tool.choose; CLI --model)
    "sam": ToolSpec(
        "sam", "SAM (promptable model)", frozenset({"box", "points", "strokes", "model"}),
        _lazy("maskwork.core.interactive.sam.tool", "segment_sam"),
        "Click the object (left) or the background (right), or drag a box; Tab: other candidates; Enter commits.",
        "point"),
}


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        shape = getattr(image, "shape", None)
        raise InputError(f"interactive tools need an HxWx3 uint8 RGB image "
                         f"(maskwork.core.store.images.read_image), got "
                         f"{getattr(image, 'dtype', type(image).__name__)} {shape}.")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise InputError(f"the image is {image.shape[1]}x{image.shape[0]} pixels, too small to segment.")


def segment(tool: str, image: np.ndarray, prompt: Prompt) -> Mask:
    """The mask `tool` makes from `prompt` on `image` (HxWx3 uint8 RGB), in full-image coordinates."""
    spec = TOOLS.get(tool)
    if spec is None:
        raise InputError(f"unknown interactive tool '{tool}'; choose one of {', '.join(TOOLS)}.")
    _check_image(image)
    prompt.check(image.shape[1], image.shape[0])
    return spec.run(image, prompt)


def snap_path(image: np.ndarray, p0: tuple[int, int], p1: tuple[int, int]) -> list[tuple[int, int]]:
    """Edge-following path of image pixels (x, y) from p0 to p1, both included."""
    from maskwork.core.interactive.scissors import snap_path as _snap

    _check_image(image)
    return _snap(image, p0, p1)


__all__ = ["TOOLS", "ToolSpec", "Prompt", "Stroke", "segment", "snap_path"]
