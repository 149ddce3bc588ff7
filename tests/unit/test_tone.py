"""core.view.tone: brightness/contrast/gamma on a display copy of a real (dark) nuclei image."""
from __future__ import annotations

import numpy as np

from maskwork.core.store.images import read_image
from maskwork.core.view.tone import Tone, apply_tone, auto_tone, tone_lut


def dark_nucleus_image(nuclei_val) -> np.ndarray:
    return read_image(sorted((nuclei_val.parent / "images").iterdir())[0])


def test_identity_is_free_and_the_data_is_never_changed(nuclei_val):
    rgb = dark_nucleus_image(nuclei_val)
    before = rgb.copy()
    assert apply_tone(rgb, Tone()) is rgb  # no copy of a big image for nothing
    out = apply_tone(rgb, Tone(brightness=0.2, contrast=2.0, gamma=2.0))
    assert out is not rgb and np.array_equal(rgb, before)
    assert np.array_equal(tone_lut(Tone()), np.arange(256))


def test_gamma_lifts_the_shadows_and_keeps_the_order(nuclei_val):
    lut = tone_lut(Tone(gamma=2.5))
    assert np.all(np.diff(lut.astype(int)) >= 0) and lut[0] == 0 and lut[255] == 255
    assert lut[20] > 60  # a dark grey becomes visible
    rgb = dark_nucleus_image(nuclei_val)
    assert np.median(apply_tone(rgb, Tone(gamma=2.5))) > 4 * max(1, np.median(rgb))


def test_auto_stretches_the_images_own_range(nuclei_val):
    rgb = dark_nucleus_image(nuclei_val)
    lo, hi = np.percentile(rgb.max(axis=2), (0.5, 99.5))
    assert hi < 128  # the image really is dark
    out = apply_tone(rgb, auto_tone(rgb)).max(axis=2)
    new_lo, new_hi = np.percentile(out, (0.5, 99.5))
    assert new_lo <= 5 and new_hi >= 235
    flat = np.full((64, 64, 3), 90, np.uint8)
    assert auto_tone(flat) == Tone()  # nothing to stretch
