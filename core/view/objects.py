"""What the Objects panel lists and what the canvas draws when objects are hidden (view only: the
layer itself is never changed by hiding)."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from maskwork.core.domain.annotation import Layer
from maskwork.core.domain.pixel_counts import label_counts


def visible_layer(layer: Layer | None, hidden_ids: Iterable[int] = (),
                  hidden_classes: Iterable[int] = ()) -> Layer | None:
    """The layer without hidden instances (by id or by class), sharing its masks and label map; the
    layer itself when nothing of it is hidden. Hidden label-map classes are left to the colour table
    (bgra_lut entries made transparent), so no label map is ever copied."""
    hidden_ids, hidden_classes = set(hidden_ids), set(hidden_classes)
    if layer is None or not layer.instances or not (hidden_ids or hidden_classes):
        return layer
    shown = [i for i in layer.instances if i.id not in hidden_ids and i.class_id not in hidden_classes]
    if len(shown) == len(layer.instances):
        return layer
    return Layer(layer.label_map, shown)


def hide_classes(lut: np.ndarray, hidden_classes: Iterable[int]) -> np.ndarray:
    """A copy of a bgra_lut colour table with the hidden classes transparent."""
    hidden = [c for c in hidden_classes if 0 <= c < len(lut)]
    if not hidden:
        return lut
    lut = lut.copy()
    lut[hidden] = 0
    return lut


def class_areas(label_map: np.ndarray | None) -> dict[int, int]:
    """Pixels per class id present in a label map (unlabeled 0 included when present)."""
    if label_map is None:
        return {}
    return label_counts(label_map)  # exact, ~5x faster than a bincount on 48 MP (core.domain.pixel_counts)
