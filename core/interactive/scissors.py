"""Edge-snapping outline: the path between two clicks that follows image edges (intelligent
scissors, OpenCV's IntelligentScissorsMB), computed in a window around the two points.

The window is the two points' box plus a margin (so the path may bulge out to follow a curved
edge); long segments are worked on downscaled to keep a click interactive.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskwork.core.domain.errors import InputError
from maskwork.core.interactive import window as win


@dataclass(frozen=True)
class ScissorsParams:
    margin_frac: float = 0.3    # of the distance between the points
    min_margin: int = 16
    max_side: int = 512         # longest working side
    canny: tuple[float, float] | None = (32.0, 100.0)  # edge feature: Canny thresholds; None = zero crossings
    max_gradient: float = 200.0


DEFAULT = ScissorsParams()


def snap_path(image: np.ndarray, p0: tuple[int, int], p1: tuple[int, int],
              params: ScissorsParams = DEFAULT) -> list[tuple[int, int]]:
    """Pixels (x, y) from p0 to p1 along image edges, both ends included."""
    height, width = image.shape[:2]
    for p in (p0, p1):
        if not (0 <= p[0] < width and 0 <= p[1] < height):
            raise InputError(f"point {tuple(p)} lies outside the {width}x{height} image; click on the image.")
    p0, p1 = (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1]))
    if p0 == p1:
        return [p0]
    extent = (min(p0[0], p1[0]), min(p0[1], p1[1]), max(p0[0], p1[0]) + 1, max(p0[1], p1[1]) + 1)
    dist = float(np.hypot(p1[0] - p0[0], p1[1] - p0[1]))
    margin = max(params.min_margin, int(round(params.margin_frac * dist)))
    window = win.around(extent, width, height, 0.0, margin, params.max_side)
    tool = cv2.segmentation.IntelligentScissorsMB()
    if params.canny is not None:
        tool.setEdgeFeatureCannyParameters(*params.canny)
    tool.setGradientMagnitudeMaxLimit(params.max_gradient)
    tool.applyImage(cv2.cvtColor(window.crop(image), cv2.COLOR_RGB2BGR))
    tool.buildMap(window.to_work(*p0))
    contour = tool.getContour(window.to_work(*p1)).reshape(-1, 2)
    return _to_image(contour, window, p0, p1)


def _to_image(contour: np.ndarray, window: win.Window, p0: tuple[int, int],
              p1: tuple[int, int]) -> list[tuple[int, int]]:
    """Working pixels -> image pixels (centre of the covered block), exact ends, no repeats."""
    s = window.scale
    xs = np.floor((contour[:, 0] + 0.5) / s).astype(int) + window.x0
    ys = np.floor((contour[:, 1] + 0.5) / s).astype(int) + window.y0
    path = [p0]
    for x, y in zip(xs[1:-1].tolist(), ys[1:-1].tolist()):
        if (x, y) != path[-1]:
            path.append((x, y))
    if path[-1] != p1:
        path.append(p1)
    return path
