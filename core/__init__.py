"""Maskwork core: annotation model, editing, metrics, I/O, models and training.

Nothing in this package (or anything it imports) may import Qt; tests/unit/test_no_qt.py enforces it.
"""

if __name__ == "core":  # imported by its bare name from the repository root: a second copy of every class
    raise ImportError("Maskwork's core is imported as `maskwork.core` "
                      "(e.g. `from maskwork.core.domain.masks import Mask`), "
                      "never as bare `core`, which would load a second copy of every class (a second Mask that "
                      "isinstance checks reject); install the checkout with `make install` (docs/adr/0010).")
