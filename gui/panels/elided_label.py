"""A one-line label that elides its text to the width it gets, the whole text in its tooltip.

A word-wrapped QLabel in a squeezed dock is cut at the top and bottom instead (a long model
description showed half lines); one elided line always fits.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", hint: str = "", parent=None) -> None:
        super().__init__(parent)
        self._full = ""
        self._hint = hint  # shown under the whole text in the tooltip
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self._full = text
        self.setToolTip("\n\n".join(t for t in (text, self._hint) if t))
        self._elide()

    def text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(self.width(), 40))
        super().setText(shown)
