"""A small line chart drawn with QPainter (no matplotlib): loss and metric curves while training.

Usage:
    chart = LineChart(title="Loss", x_label="epoch")
    chart.add_point("train loss", 1, 0.83)     # creates the series on first use
    chart.points("train loss") -> [(1, 0.83)]
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

SERIES_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 52, 18, 26, 34
Align = Qt.AlignmentFlag


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 5 x 10^k steps) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks, v = [], first
    while v <= hi + step * 1e-6:
        ticks.append(round(v, 10))
        v += step
    return ticks


class LineChart(QWidget):
    def __init__(self, title: str = "", x_label: str = "", y_range: tuple[float, float] | None = None,
                 parent=None) -> None:
        super().__init__(parent)
        self.title, self.x_label = title, x_label
        self.fixed_y = y_range  # e.g. (0, 1) for IoU; None = fit the data
        self._series: dict[str, list[tuple[float, float]]] = {}
        self._colors: dict[str, QColor] = {}
        self.setMinimumSize(260, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # ---- data -------------------------------------------------------------------------
    def add_point(self, series: str, x: float, y: float | None) -> None:
        """A point of `series` (a missing or non-finite y only makes the series appear)."""
        if series not in self._series:
            self._series[series] = []
            self._colors[series] = QColor(SERIES_COLORS[(len(self._series) - 1) % len(SERIES_COLORS)])
        if y is not None and math.isfinite(float(y)):
            self._series[series].append((float(x), float(y)))
        self.update()

    def points(self, series: str) -> list[tuple[float, float]]:
        return list(self._series.get(series, []))

    def series_names(self) -> list[str]:
        return list(self._series)

    def clear(self) -> None:
        self._series.clear()
        self._colors.clear()
        self.update()

    # ---- drawing ----------------------------------------------------------------------
    def _ranges(self) -> tuple[float, float, float, float]:
        pts = [p for s in self._series.values() for p in s]
        if not pts:
            return 0.0, 1.0, 0.0, 1.0
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        x0, x1 = min(xs), max(xs)
        if x1 == x0:
            x0, x1 = x0 - 0.5, x1 + 0.5
        if self.fixed_y is not None:
            return x0, x1, *self.fixed_y
        y0, y1 = min(ys), max(ys)
        pad = (y1 - y0) * 0.08 or max(abs(y1) * 0.1, 0.05)
        return x0, x1, max(0.0, y0 - pad) if y0 >= 0 else y0 - pad, y1 + pad

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        plot = QRectF(MARGIN_LEFT, MARGIN_TOP, max(self.width() - MARGIN_LEFT - MARGIN_RIGHT, 10),
                      max(self.height() - MARGIN_TOP - MARGIN_BOTTOM, 10))
        x0, x1, y0, y1 = self._ranges()

        def to_px(x: float, y: float) -> QPointF:
            return QPointF(plot.left() + (x - x0) / (x1 - x0) * plot.width(),
                           plot.bottom() - (y - y0) / ((y1 - y0) or 1.0) * plot.height())

        text_pen = QPen(self.palette().text().color())
        grid_pen = QPen(QColor(128, 128, 128, 60))
        small = QFont(self.font())
        small.setPointSizeF(max(self.font().pointSizeF() - 1, 7))
        p.setFont(small)
        for ty in nice_ticks(y0, y1):
            if y0 <= ty <= y1:
                pt = to_px(x0, ty)
                p.setPen(grid_pen)
                p.drawLine(QPointF(plot.left(), pt.y()), QPointF(plot.right(), pt.y()))
                p.setPen(text_pen)
                p.drawText(QRectF(0, pt.y() - 8, MARGIN_LEFT - 6, 16), Align.AlignRight | Align.AlignVCenter, f"{ty:g}")
        for tx in nice_ticks(x0, x1, 6):
            if x0 <= tx <= x1:
                pt = to_px(tx, y0)
                p.setPen(text_pen)
                p.drawText(QRectF(pt.x() - 20, plot.bottom() + 2, 40, 14), Align.AlignCenter, f"{tx:g}")
        p.setPen(text_pen)
        p.drawRect(plot)
        p.drawText(QRectF(plot.left(), plot.bottom() + 16, plot.width(), 16), Align.AlignCenter, self.x_label)
        p.drawText(QRectF(plot.left(), 4, plot.width(), 18), Align.AlignLeft | Align.AlignVCenter, self.title)

        if not any(self._series.values()):
            p.drawText(plot, Align.AlignCenter, "no data yet")
        legend_x = plot.right()
        for name, pts in reversed(list(self._series.items())):
            color = self._colors[name]
            pen = QPen(color, 2)
            p.setPen(pen)
            if len(pts) > 1:
                path = QPainterPath(to_px(*pts[0]))
                for x, y in pts[1:]:
                    path.lineTo(to_px(x, y))
                p.drawPath(path)
            p.setBrush(color)
            for x, y in pts:
                p.drawEllipse(to_px(x, y), 2.5, 2.5)
            width = p.fontMetrics().horizontalAdvance(name) + 22
            legend_x -= width
            p.fillRect(QRectF(legend_x, 9, 12, 4), color)
            p.setPen(text_pen)
            p.drawText(QRectF(legend_x + 15, 2, width, 18), Align.AlignLeft | Align.AlignVCenter, name)
        p.end()
