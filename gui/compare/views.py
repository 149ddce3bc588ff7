"""Image views of the compare window: a zoom/pan view, view synchronisation, and a swipe view.

Each view shows the image, one result's overlay and (optionally) the disagreement highlight as
separate pixmap items, so toggles never recompose pixels.
"""
from __future__ import annotations

from PySide6.QtCore import QLineF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QStyleOptionGraphicsItem

ZOOM_STEP = 1.25


class ZoomView(QGraphicsView):
    """Wheel zooms around the cursor, left-drag pans. `view_changed` fires on zoom or pan."""

    view_changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)  # parented: Python must not collect it under the view
        self.setScene(self._scene)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # see the real pixels when zoomed in
        self.setBackgroundBrush(QColor(40, 40, 40))
        self.image_item = QGraphicsPixmapItem()
        self.overlay_item = QGraphicsPixmapItem()
        self.diff_item = QGraphicsPixmapItem()
        for z, item in enumerate((self.image_item, self.overlay_item, self.diff_item)):
            item.setZValue(z)
            self.scene().addItem(item)
        self.horizontalScrollBar().valueChanged.connect(self.view_changed)
        self.verticalScrollBar().valueChanged.connect(self.view_changed)

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_pixmaps(self, image, overlay=None, diff=None) -> None:
        self.image_item.setPixmap(image)
        for item, pm in ((self.overlay_item, overlay), (self.diff_item, diff)):
            if pm is not None:
                item.setPixmap(pm)
        self.scene().setSceneRect(QRectF(image.rect()))

    def fit(self) -> None:
        self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self.view_changed.emit()

    def zoom_by(self, factor: float) -> None:
        self.scale(factor, factor)
        self.view_changed.emit()

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(ZOOM_STEP ** steps)
        event.accept()


def sync_views(a: ZoomView, b: ZoomView) -> None:
    """Keep b's zoom and scroll position equal to a's and vice versa."""
    busy = [False]

    def copy(src: ZoomView, dst: ZoomView) -> None:
        if busy[0]:
            return
        busy[0] = True
        try:
            dst.setTransform(src.transform())
            dst.horizontalScrollBar().setValue(src.horizontalScrollBar().value())
            dst.verticalScrollBar().setValue(src.verticalScrollBar().value())
        finally:
            busy[0] = False

    a.view_changed.connect(lambda: copy(a, b))
    b.view_changed.connect(lambda: copy(b, a))


class ClippedPixmapItem(QGraphicsPixmapItem):
    """A pixmap drawn only right of `split` (0..1 of its width): the B side of the swipe."""

    def __init__(self) -> None:
        super().__init__()
        self.split = 0.5

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        rect = self.boundingRect()
        x = rect.left() + rect.width() * self.split
        painter.save()
        painter.setClipRect(QRectF(x, rect.top(), rect.right() - x, rect.height()))
        super().paint(painter, option, widget)
        painter.restore()
        painter.setPen(QPen(QColor(255, 255, 255), 0))
        painter.drawLine(QLineF(x, rect.top(), x, rect.bottom()))


class SwipeView(ZoomView):
    """Result A on the left of the split line, result B on the right (the same image below both)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.b_image_item = ClippedPixmapItem()
        self.b_overlay_item = ClippedPixmapItem()
        self.b_diff_item = ClippedPixmapItem()
        for z, item in enumerate((self.b_image_item, self.b_overlay_item, self.b_diff_item), start=3):
            item.setZValue(z)
            self.scene().addItem(item)

    def set_b(self, image, overlay, diff) -> None:
        self.b_image_item.setPixmap(image)
        self.b_overlay_item.setPixmap(overlay)
        self.b_diff_item.setPixmap(diff)

    def set_split(self, fraction: float) -> None:
        for item in (self.b_image_item, self.b_overlay_item, self.b_diff_item):
            item.split = min(max(fraction, 0.0), 1.0)
            item.update()

    def set_diff_visible(self, visible: bool) -> None:
        self.diff_item.setVisible(visible)
        self.b_diff_item.setVisible(visible)
