"""A result's masks, some decoded only when first read (then kept).

A YOLO result keeps every detection above the score floor so the score slider re-filters without a new
forward pass; decoding the masks of detections nobody shows cost more than the rest of the run
(issue 10). `LazyMasks` holds a decoded Mask or a pending one (anything with `decode() -> Mask`, e.g.
yolo_masks.BoxLogits) per detection, and is a read-only sequence of Masks like the list it replaces.
Pending items pickle as they are (small arrays), so a result crosses processes still lazy.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from maskwork.core.domain.masks import Mask


class PendingMask(Protocol):
    def decode(self) -> Mask: ...


class LazyMasks(Sequence):
    """Sequence of Masks; item i is decoded on first access and cached."""

    def __init__(self, items: Iterable[Mask | PendingMask]) -> None:
        self._items = list(items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return LazyMasks(self._items[i])
        item = self._items[i]
        if not isinstance(item, Mask):
            item = self._items[i] = item.decode()
        return item

    def take(self, indices: Iterable[int]) -> LazyMasks:
        """The masks at `indices`; those not read yet stay pending (shared with this sequence)."""
        return LazyMasks(self._items[int(i)] for i in indices)

    def __repr__(self) -> str:
        decoded = sum(isinstance(m, Mask) for m in self._items)
        return f"LazyMasks({len(self)} masks, {decoded} decoded)"
