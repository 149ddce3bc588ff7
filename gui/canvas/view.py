"""The image canvas: zoom around the cursor, pan (middle button or space+drag), fit / 1:1, and
mouse events forwarded in image coordinates to the active tool (gui/tools)."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QFrame, QGraphicsEllipseItem, QGraphicsScene, QGraphicsView

from maskwork.gui.canvas.boxes_layer import BoxesItem
from maskwork.gui.canvas.image_layer import ImageItem
from maskwork.gui.canvas.overlay_layer import OverlayItem

MIN_ZOOM, MAX_ZOOM = 0.01, 64.0
WHEEL_STEP = 1.25  # zoom factor per wheel notch


class CanvasView(QGraphicsView):
    cursor_moved = Signal(int, int)     # image pixel under the mouse
    zoom_changed = Signal(float)        # 1.0 = one image pixel per screen pixel

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QColor("#2b2b2b"))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setMouseTracking(True)
        self.setToolTip("")  # the status bar explains the canvas; a tooltip would hide the image
        self.image_item = ImageItem()
        self.prediction_overlay = OverlayItem(z=1)
        self.corrected_overlay = OverlayItem(z=2)
        self.boxes = BoxesItem(z=3)
        self.brush_outline = QGraphicsEllipseItem()
        pen = QPen(QColor("#ffffff"))
        pen.setCosmetic(True)
        self.brush_outline.setPen(pen)
        self.brush_outline.setZValue(20)
        self.brush_outline.hide()
        for item in (self.image_item, self.prediction_overlay, self.corrected_overlay, self.boxes,
                     self.brush_outline):
            self.scene().addItem(item)
        self.tool = None            # gui.tools.base.Tool
        self.brush_radius = 5
        self._pan_from: QPointF | None = None
        self._space = False
        self._fitted = False  # "fit" mode follows window/dock resizes until the user zooms or pans

    # ---- geometry -----------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        return self.image_item.boundingRect()

    def set_image_size(self, width: int, height: int) -> None:
        self.setSceneRect(QRectF(0, 0, width, height))

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to `zoom`, keeping the image point under viewport position `anchor` where it is."""
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        self._fitted = False
        anchor = QPointF(self.viewport().rect().center()) if anchor is None else QPointF(anchor)
        before = self.to_scene(anchor)
        self.resetTransform()
        self.scale(zoom, zoom)
        after = self.viewportTransform().map(before)
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(after.x() - anchor.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(after.y() - anchor.y()))
        self.zoom_changed.emit(zoom)
        self._update_outline(None)

    def to_scene(self, view_pos: QPointF) -> QPointF:
        """Viewport position -> image coordinates, without rounding to whole screen pixels."""
        return self.viewportTransform().inverted()[0].map(QPointF(view_pos))

    def fit(self) -> None:
        if not self.image_rect().isEmpty():
            self.fitInView(self.image_rect(), Qt.AspectRatioMode.KeepAspectRatio)
            self._fitted = True
            self.zoom_changed.emit(self.zoom())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def center(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def view_state(self) -> dict:
        c = self.center()
        return {"zoom": round(self.zoom(), 5), "center": [round(c.x(), 1), round(c.y(), 1)]}

    def restore_view(self, state: dict | None) -> None:
        saved = state or {}  # none saved: fit, as for a damaged one
        try:
            zoom, (cx, cy) = float(saved["zoom"]), saved["center"]
        except (TypeError, KeyError, ValueError):
            self.fit()
            return
        self.set_zoom(zoom)
        self.centerOn(QPointF(float(cx), float(cy)))

    # ---- brush outline ------------------------------------------------------------------
    def set_brush_radius(self, radius: int) -> None:
        self.brush_radius = max(1, int(radius))
        self._update_outline(None)

    def _update_outline(self, view_pos) -> None:
        uses_brush = bool(self.tool is not None and getattr(self.tool, "uses_brush", False))
        # shown only once the mouse is over the image (not parked at 0,0 before the first move)
        self.brush_outline.setVisible(uses_brush and (view_pos is not None or hasattr(self, "_outline_center")))
        if not uses_brush:
            return
        if view_pos is not None:
            p = self.to_scene(view_pos)
            self._outline_center = QPointF(int(p.x()) + 0.5, int(p.y()) + 0.5)
        c = getattr(self, "_outline_center", QPointF(0, 0))
        r = self.brush_radius + 0.5
        self.brush_outline.setRect(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r))

    # ---- events -------------------------------------------------------------------------
    def wheelEvent(self, event) -> None:
        if self.tool is not None and self.tool.wheel(event):  # e.g. Ctrl+wheel: wand tolerance
            event.accept()
            return
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom() * WHEEL_STEP ** steps, event.position())
        event.accept()

    def _image_point(self, event) -> QPointF:
        return self.to_scene(event.position())

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
            (self._space or getattr(self.tool, "pans", False)) and event.button() == Qt.MouseButton.LeftButton
        ):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if self.tool is not None and event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self.tool.press(self._image_point(event), event)

    def mouseMoveEvent(self, event) -> None:
        p = self._image_point(event)
        self.cursor_moved.emit(int(p.x()), int(p.y()))
        self._update_outline(event.position())
        if self._pan_from is not None:
            d = event.position() - self._pan_from
            self._fitted = False
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(d.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(d.y()))
            return
        if self.tool is not None:
            self.tool.move(p, event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self._apply_tool_cursor()
            return
        if self.tool is not None:
            self.tool.release(self._image_point(event), event)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.tool is not None and event.button() == Qt.MouseButton.LeftButton:
            self.tool.double_click(self._image_point(event), event)

    def leaveEvent(self, event) -> None:
        self.brush_outline.hide()
        super().leaveEvent(event)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and self.tool is not None and self.tool.claims_key(event):
            event.accept()  # delivered as a key press below instead of triggering the shortcut
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if self.tool is not None and self.tool.key_press(event):
            return
        if event.key() == Qt.Key.Key_Escape and self.tool is not None and self.tool.editor.selected:
            self.tool.editor.set_selection([])  # Esc the tool did not use: drop the selection
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._apply_tool_cursor()
            return
        super().keyReleaseEvent(event)

    def set_tool(self, tool) -> None:
        if self.tool is not None:
            self.tool.cancel()
        self.tool = tool
        if tool is not None:
            tool.activate()
        self._apply_tool_cursor()
        self._update_outline(None)

    def _apply_tool_cursor(self) -> None:
        shape = self.tool.cursor() if self.tool is not None else Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(shape)
