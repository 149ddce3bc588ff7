"""Refinement with a promptable model of the SAM family the user has (core/interactive/sam).

Each mask becomes prompts: its box alone, and its box with a positive click at the mask's deepest
interior point. The decoder's candidate with the highest predicted IoU (the model's own score) over
both prompts wins. One image embedding serves every object of the image.
"""
from __future__ import annotations

import cv2
import numpy as np

from maskwork.core.domain.masks import Mask
from maskwork.core.interactive.prompt import Prompt
from maskwork.core.interactive.sam.model import Embedding, PromptModel


def prompts_for(mask: Mask) -> list[Prompt]:
    """Box alone, then box + a click at the mask's deepest interior point (image pixels)."""
    x, y, w, h = (int(v) for v in mask.bbox)
    box = (x, y, x + w, y + h)
    crop = mask.region(x, y, x + w, y + h)
    depth = cv2.distanceTransform(np.pad(crop, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    cy, cx = divmod(int(np.argmax(depth)), crop.shape[1])
    return [Prompt(box=box), Prompt(box=box, points=[(x + cx, y + cy, True)])]


def refine_sam(model: PromptModel, embedding: Embedding, mask: Mask) -> Mask:
    """The best-scored candidate over the mask's prompts; the mask itself when every candidate is empty."""
    best, best_score = mask, -np.inf
    for prompt in prompts_for(mask):
        result = model.decode(embedding, prompt)
        for i in range(len(result)):
            if float(result.scores[i]) > best_score and not result.mask_at(i).is_empty:
                best, best_score = result.mask_at(i), float(result.scores[i])
    return best
