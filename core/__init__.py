"""Maskwork core: annotation model, editing, metrics, I/O, models and training.

Nothing in this package (or anything it imports) may import Qt; tests/unit/test_no_qt.py enforces it.
"""
