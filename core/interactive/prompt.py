"""What the user gave an interactive tool: a box, clicks, strokes, a tolerance and the mask being fixed, in
image pixels.

Plain data with no behaviour beyond checks and its extent, so the GUI, the CLI and the benchmark's
click simulator build the same object and every tool reads it the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask


@dataclass
class Stroke:
    points: list[tuple[int, int]]   # image pixels (x, y), a polyline
    positive: bool                  # True = object, False = background
    radius: int = 3


@dataclass
class Prompt:
    box: tuple[int, int, int, int] | None = None          # x0, y0, x1, y1 (x1/y1 exclusive), image pixels
    points: list[tuple[int, int, bool]] = field(default_factory=list)   # (x, y, positive)
    strokes: list[Stroke] = field(default_factory=list)
    tolerance: float = 0.5                                 # magic wand: 0 (strict) .. 1 (loose)
    mask: Mask | None = None                               # the object the "fix" tool corrects, full image

    # ---- what the prompt holds ------------------------------------------------------------
    @property
    def has_positive(self) -> bool:
        return any(p[2] for p in self.points) or any(s.positive and s.points for s in self.strokes)

    def seeds(self, positive: bool) -> list[tuple[int, int]]:
        """Every clicked or stroked pixel of one polarity (stroke vertices, not the drawn width)."""
        out = [(int(x), int(y)) for x, y, pos in self.points if bool(pos) == positive]
        for s in self.strokes:
            if s.positive == positive:
                out += [(int(x), int(y)) for x, y in s.points]
        return out

    def extent(self) -> tuple[int, int, int, int] | None:
        """x0, y0, x1, y1 (exclusive) covering the box, the clicks and the strokes with their width."""
        boxes = [] if self.box is None else [tuple(self.box)]
        if self.mask is not None and not self.mask.is_empty:
            boxes.append((self.mask.x0, self.mask.y0, self.mask.x1, self.mask.y1))
        boxes += [(x, y, x + 1, y + 1) for x, y, _ in self.points]
        for s in self.strokes:
            r = max(0, int(s.radius))
            boxes += [(x - r, y - r, x + r + 1, y + r + 1) for x, y in s.points]
        if not boxes:
            return None
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes))

    def required_extent(self) -> tuple[int, int, int, int]:
        """extent() of a prompt that holds something (the tools check has_positive first)."""
        extent = self.extent()
        if extent is None:
            raise InputError("this tool needs a click, a stroke or a box on the object; add one.")
        return extent

    # ---- checks -----------------------------------------------------------------------------
    def check(self, width: int, height: int) -> None:
        """Raise InputError (one sentence) for values no tool can use on a width x height image."""
        if self.mask is not None and (self.mask.width, self.mask.height) != (width, height):
            raise InputError(f"the mask to fix is {self.mask.width}x{self.mask.height} pixels but the image "
                             f"{width}x{height}; give the mask made for this image.")
        if not 0.0 <= float(self.tolerance) <= 1.0:
            raise InputError(f"tolerance {self.tolerance} is outside 0..1; use 0 (strict) to 1 (loose).")
        if self.box is not None:
            if len(self.box) != 4:
                raise InputError(f"box {self.box} needs four numbers x0,y0,x1,y1.")
            x0, y0, x1, y1 = self.box
            if x1 - x0 < 2 or y1 - y0 < 2:
                raise InputError(f"box {tuple(self.box)} is empty or thinner than 2 pixels; drag a box "
                                 "from one corner of the object to the opposite one.")
            if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
                raise InputError(f"box {tuple(self.box)} lies outside the {width}x{height} image; draw it "
                                 "over the object.")
        for x, y, _ in self.points:
            if not (0 <= x < width and 0 <= y < height):
                raise InputError(f"click ({x}, {y}) lies outside the {width}x{height} image; click on "
                                 "the image.")
        for s in self.strokes:
            if not s.points:
                raise InputError("a stroke has no points; draw it again.")
            if all(not (0 <= x < width and 0 <= y < height) for x, y in s.points):
                raise InputError(f"a stroke starting at {tuple(s.points[0])} lies outside the "
                                 f"{width}x{height} image; draw it on the image.")
