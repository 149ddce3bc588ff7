"""core.domain.pixel_counts.label_counts: exact counts (also above float32's 2**24) on real label maps."""
from __future__ import annotations

import numpy as np
from PIL import Image

from maskwork.core.domain.pixel_counts import label_counts


def _reference(label_map):
    values, counts = np.unique(label_map, return_counts=True)
    return {int(v): int(n) for v, n in zip(values, counts)}


def test_counts_equal_numpy_on_real_and_big_maps(aerial_dir):
    real = np.array(Image.open(sorted((aerial_dir / "masks").glob("*.png"))[0]))
    assert label_counts(real) == _reference(real)
    big = np.tile(real, (6000 // real.shape[0] + 1, 8000 // real.shape[1] + 1))[:6000, :8000]  # 48 MP
    assert label_counts(big) == _reference(big)
    flat = np.zeros((4200, 4200), np.uint8)  # 17.6 M pixels of one value: past float32's exact range
    flat[0, 0] = 2
    assert label_counts(flat) == {0: 4200 * 4200 - 1, 2: 1}


def test_uint16_values():
    wide = np.array([[0, 300, 65535], [300, 300, 7]], np.uint16)
    assert label_counts(wide) == {0: 1, 7: 1, 300: 3, 65535: 1}
