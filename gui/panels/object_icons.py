"""Eye and padlock icons of the Objects panel, drawn with QPainter (no image files, crisp at any
device pixel ratio, no emoji font needed). Colours come from the widget's palette, so they read on
light and dark themes and on a selected row."""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

SIZE = 16
LOCKED = "#e07b00"


def _canvas():
    pix = QPixmap(SIZE * 2, SIZE * 2)  # drawn at 2x, scaled down smoothly by the view
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(2, 2)
    return pix, painter


def _pen(colour: str, width: float = 1.4) -> QPen:
    pen = QPen(QColor(colour), width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen


def _eye(shown: bool, colour: str) -> QPixmap:
    pix, p = _canvas()
    p.setPen(_pen(colour))
    almond = QPainterPath(QPointF(1.5, 8))
    almond.quadTo(QPointF(8, 1), QPointF(14.5, 8))
    almond.quadTo(QPointF(8, 15), QPointF(1.5, 8))
    p.drawPath(almond)
    if shown:
        p.setBrush(QColor(colour))
        p.drawEllipse(QPointF(8, 8), 2.4, 2.4)
    else:
        p.drawLine(QPointF(2.5, 13.5), QPointF(13.5, 2.5))
    p.end()
    return pix


def _padlock(locked: bool, colour: str) -> QPixmap:
    pix, p = _canvas()
    p.setPen(_pen(colour))
    shackle = QPainterPath(QPointF(5, 8))
    shackle.lineTo(QPointF(5, 5.5))
    shackle.arcTo(QRectF(5, 2, 6, 6), 180, -180)
    shackle.lineTo(QPointF(11, 8 if locked else 6))  # open: the right leg lifted out of the body
    p.drawPath(shackle)
    p.setBrush(QColor(colour) if locked else Qt.BrushStyle.NoBrush)
    p.drawRoundedRect(QRectF(3, 8, 10, 6.5), 1.2, 1.2)
    p.end()
    return pix


def _two_modes(normal: QPixmap, selected: QPixmap) -> QIcon:
    icon = QIcon(normal)
    icon.addPixmap(selected, QIcon.Mode.Selected)
    return icon


@lru_cache(maxsize=None)
def eye(shown: bool, text: str, faint: str, selected_text: str) -> QIcon:
    """Open eye in the text colour, crossed-out eye faint; `selected_text` on a selected row."""
    return _two_modes(_eye(shown, text if shown else faint), _eye(shown, selected_text))


@lru_cache(maxsize=None)
def padlock(locked: bool, faint: str, selected_text: str) -> QIcon:
    """Closed orange padlock, or an open faint one."""
    return _two_modes(_padlock(locked, LOCKED if locked else faint),
                      _padlock(locked, LOCKED if locked else selected_text))


@lru_cache(maxsize=512)
def box_swatch(rgb: tuple[int, int, int]) -> QIcon:
    """A box-only object (no mask yet): a dashed outline in its colour, as the canvas draws its box."""
    pix, p = _canvas()
    pen = QPen(QColor(*rgb), 1.6)
    pen.setStyle(Qt.PenStyle.DashLine)
    p.setPen(pen)
    p.drawRect(QRectF(2.5, 3.5, 11, 9))
    p.end()
    return QIcon(pix)


@lru_cache(maxsize=512)
def swatch(rgb: tuple[int, int, int]) -> QIcon:
    pix, p = _canvas()
    p.setPen(QPen(QColor(0, 0, 0, 140), 1))
    p.setBrush(QColor(*rgb))
    p.drawRoundedRect(QRectF(2.5, 2.5, 11, 11), 2, 2)
    p.end()
    return QIcon(pix)
