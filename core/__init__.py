"""Maskwork core: annotation model, editing, metrics, I/O, models and training.

Nothing in this package (or anything it imports) may import Qt; tests/unit/test_no_qt.py enforces it.
"""

if __name__ == "core":  # imported by its bare name from the repository root: a second copy of every class
    raise ImportError("Maskwork's core is imported as `maskwork.core` "
                      "(e.g. `from maskwork.core.domain.masks import Mask`), "
                      "never as bare `core`, which would load a second copy of every class (a second Mask that "
                      "isinstance checks reject); install the checkout with `make install` (docs/adr/0010).")

import os

# OpenCV decodes an image before anyone can look at its size and refuses only above 2^30 pixels (3 GB as RGB): the
# image reader's fallback (core/store/images.py) would allocate that for a small hostile file. Its limit is read
# once, when cv2 loads, so it is set here, before any module of Maskwork imports cv2; the same number as
# core.store.images.MAX_PIXELS (a test keeps them equal).
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", "200000000")
