"""GrabCut started from a model's mask: the first try of issue 21, kept as the baseline bench_refine.py measures
core/refine/edges.py against. The cut itself lives in core (core/interactive/mask_cut.py), where the "fix" tool
runs it once per click."""
from __future__ import annotations

from maskwork.core.interactive.mask_cut import cut_from_mask as grabcut_from_mask

__all__ = ["grabcut_from_mask"]
