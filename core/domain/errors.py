"""Errors a user can act on. Every message says what is wrong, where, and what to do."""
from __future__ import annotations


class MaskworkError(Exception):
    """Base class: the message is shown to the user as is (GUI dialog or CLI stderr)."""


class InputError(MaskworkError):
    """A file or value given by the user is wrong (corrupt image, malformed COCO, bad checkpoint)."""


class ProjectError(MaskworkError):
    """The project folder cannot be read or written (read-only, full disk, locked)."""


class ModelError(MaskworkError):
    """A model cannot be built, loaded or run (missing weights, incompatible checkpoint)."""


class Cancelled(MaskworkError):
    """Long work was cancelled by the user; nothing partial was written."""
