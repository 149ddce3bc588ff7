"""Which object labels to draw so that none covers another (dense nuclei would otherwise print over
each other into unreadable text). Greedy: the biggest objects keep their labels first; a label that
would overlap one already kept is hidden. A grid of cells keeps it linear in the number of labels.
"""
from __future__ import annotations

from typing import Sequence

GAP_PX = 2  # labels closer than this read as one


def non_overlapping(rects: Sequence[tuple[float, float, float, float]], priority: Sequence[float],
                    cell: float = 64.0) -> list[bool]:
    """For screen rectangles (x0, y0, x1, y1): True for those kept, higher priority first."""
    keep = [False] * len(rects)
    grid: dict[tuple[int, int], list[int]] = {}
    for i in sorted(range(len(rects)), key=lambda k: -priority[k]):
        x0, y0, x1, y1 = rects[i]
        x0, y0, x1, y1 = x0 - GAP_PX, y0 - GAP_PX, x1 + GAP_PX, y1 + GAP_PX
        cells = [(cx, cy) for cx in range(int(x0 // cell), int(x1 // cell) + 1)
                 for cy in range(int(y0 // cell), int(y1 // cell) + 1)]
        if any(_overlap((x0, y0, x1, y1), rects[j]) for c in cells for j in grid.get(c, ())):
            continue
        keep[i] = True
        for c in cells:
            grid.setdefault(c, []).append(i)
    return keep


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
