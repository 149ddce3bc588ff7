"""Weight-free refinement: a model's mask made to follow the image's edges by a colour guided filter.

A model's mask is coarse where the model saw the image coarsely (YOLO-seg: 80x80 prototypes for a
320 px input, so one prototype cell spans ~8 pixels of a 640 px photo: arms and legs bleed; Mask
R-CNN: 28x28 per box). The mask, as a 0/1 map, is filtered by He et al.'s guided filter (2010) with
the RGB image as guide and cut at 0.5: inside each window the output is a linear function of the
image's colour, so the 0.5 level moves onto colour edges at the scale of the model's own cell.

Measured against GrabCut started from the mask (sure/probable foreground inside, probable background
in a band around it): the filter gained more on coco_sample people and costs ~10x less
(bench/bench_refine.py, docs/BENCHMARKS.md "Refine"). Plain numpy and OpenCV box filters (opencv's
ximgproc is not a dependency).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskwork.core.domain.masks import Mask


@dataclass(frozen=True)
class EdgeParams:
    cells: int = 80          # the filter's radius is the image's long side / cells (YOLO's 80x80 prototypes) ...
    min_radius: int = 2      # ... within these bounds (pixels)
    max_radius: int = 16
    eps: float = 1e-4        # regularisation: smaller follows weaker edges
    max_change: float = 0.5  # a result whose area differs from the mask's by more than this share is dropped


DEFAULT = EdgeParams()


def radius_for(height: int, width: int, params: EdgeParams = DEFAULT) -> int:
    return int(min(params.max_radius, max(params.min_radius, round(max(height, width) / params.cells))))


def refine_edges(image: np.ndarray, mask: Mask, params: EdgeParams = DEFAULT) -> Mask:
    """`mask` with its outline moved onto the image's colour edges (the mask itself when that fails)."""
    if mask.is_empty:
        return mask
    height, width = image.shape[:2]
    r = radius_for(height, width, params)
    bx, by, bw, bh = mask.bbox
    pad = 3 * r + 2  # the filter reads 2r around each pixel: the output stays exact up to the window's edge
    x0, y0 = max(0, int(bx) - pad), max(0, int(by) - pad)
    x1, y1 = min(width, int(bx + bw) + pad), min(height, int(by + bh) + pad)
    guide = rgb01(image[y0:y1, x0:x1])
    soft = guided_filter(guide, mask.region(x0, y0, x1, y1).astype(np.float32), r, params.eps)
    out = soft >= 0.5
    area = int(out.sum())
    if abs(area - mask.area) > params.max_change * mask.area:
        return mask
    return Mask.from_crop(height, width, x0, y0, out)


def rgb01(crop: np.ndarray) -> np.ndarray:
    """float32 RGB in 0..1 (grey repeated, alpha dropped, 16-bit scaled)."""
    if crop.ndim == 2:
        crop = np.repeat(crop[:, :, None], 3, axis=2)
    crop = crop[:, :, :3]
    scale = 65535.0 if crop.dtype == np.uint16 else 255.0 if crop.dtype == np.uint8 else max(1.0, float(crop.max()))
    return crop.astype(np.float32) / np.float32(scale)


def box_mean(a: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(a, -1, (2 * r + 1, 2 * r + 1), normalize=True, borderType=cv2.BORDER_REFLECT)


def guide_stats(guide: np.ndarray, radius: int, eps: float) -> tuple[list[np.ndarray], np.ndarray]:
    """Per window: the guide's colour means and its colour covariance (H, W, 3, 3) plus eps * identity."""
    means = [box_mean(guide[:, :, c], radius) for c in range(3)]
    sigma = np.empty(guide.shape[:2] + (3, 3), np.float32)
    for i in range(3):
        for j in range(i, 3):
            cov = box_mean(guide[:, :, i] * guide[:, :, j], radius) - means[i] * means[j]
            sigma[:, :, i, j] = sigma[:, :, j, i] = cov
    sigma += np.float32(eps) * np.eye(3, dtype=np.float32)
    return means, sigma


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a colour guide (H, W, 3) float32 of `src` (H, W) float32."""
    means, sigma = guide_stats(guide, radius, eps)
    mean_p = box_mean(src, radius)
    cov = np.stack([box_mean(guide[:, :, c] * src, radius) - means[c] * mean_p for c in range(3)], axis=-1)
    a = np.linalg.solve(sigma, cov[:, :, :, None])[:, :, :, 0]
    b = mean_p - sum(a[:, :, c] * means[c] for c in range(3))
    return sum(box_mean(a[:, :, c], radius) * guide[:, :, c] for c in range(3)) + box_mean(b, radius)
