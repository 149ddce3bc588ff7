"""Edit outline (V): the selected instance's outline (semantic: the clicked region of one class) as a
polygon with handles. Drag a vertex and the mask follows, holes kept; one undo step per drag.
Press on an edge to add a vertex there (and drag it); Shift+click a vertex, or Delete/Backspace
after touching it, removes it. Click another object to edit it, Esc lets go. The work is done by
gui/tools/outline_editing.py and core/editing/outline_ops.py."""
from __future__ import annotations

from PySide6.QtCore import Qt

from maskwork.gui.canvas.polygon_handles import PolygonHandles, edge_at, vertex_at
from maskwork.gui.tools.base import Tool, pixel
from maskwork.gui.tools.outline_editing import OutlineEditing

DELETE_KEYS = (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)


class OutlineTool(Tool):
    name = "outline"
    label = "Outline"
    shortcut = "V"
    tooltip = ("Edit outline (V): drag a vertex of the selected object's outline (semantic: of the clicked region "
               "of a class); press on an edge to add one, Shift+click or Delete removes one; one undo step per drag")
    hint = ("Outline (V): click an object, drag its vertices (the mask follows, holes stay); press on an edge "
            "to add one, Shift+click or Delete removes one.")

    def __init__(self, editor, canvas) -> None:
        super().__init__(editor, canvas)
        self.outline = OutlineEditing(editor)
        self.handles: PolygonHandles | None = None
        self.points: list[tuple[int, int]] = []  # what is shown (during a drag: ahead of the outline)
        self.active: int | None = None           # the vertex last touched (Delete removes it)
        self._dragging = False
        self._moved = False
        editor.selection_changed.connect(self._selection_changed)
        editor.state.layer_changed.connect(self._layer_changed)

    @property
    def current(self) -> bool:
        return self.canvas.tool is self

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.ArrowCursor

    # ---- following the selection and the layer ---------------------------------------------
    def activate(self) -> None:
        self._selection_changed()

    def _selection_changed(self) -> None:
        if not self.current or self._dragging:
            return
        if self.editor.instance_mode:
            sel = self.editor.selected
            keep = self.outline.target is not None and sel == [self.outline.target.instance_id]
            if not keep:
                self.outline.load_instance(sel[0] if len(sel) == 1 else None)
            self._show_target()

    def _layer_changed(self, _box) -> None:
        if self.current and not self._dragging and not self.outline.own_change:
            self.outline.retrace()
            self._show_target()

    def _show_target(self) -> None:
        self.points = self.outline.points
        if self.active is not None and self.active >= len(self.points):
            self.active = None
        self._draw()

    def _draw(self) -> None:
        if not self.points:
            if self.handles is not None:
                self.handles.hide()
            return
        if self.handles is None:
            self.handles = PolygonHandles(self.canvas.scene())
        self.handles.show(self.points, closed=True, active=self.active)

    # ---- gestures ---------------------------------------------------------------------------
    def press(self, p, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        zoom = self.canvas.zoom()
        k = vertex_at(self.points, p, zoom) if self.points else None
        if k is not None:
            self.active = k
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self._delete(k)
            else:
                self._start_drag()
            return
        hit = edge_at(self.points, p, zoom) if self.points else None
        if hit is not None and not self.outline.refused():
            self.outline.insert_vertex(hit[0] + 1, hit[1])
            self.active = hit[0] + 1
            self._show_target()
            self._start_drag()
            return
        self.active = None
        self.outline.pick(pixel(p))
        self._show_target()
        if self.outline.target is None and not self.editor.instance_mode:
            self.say("No labelled region here: click a region of a class to edit its outline.")

    def _start_drag(self) -> None:
        self._dragging = not self.outline.refused()
        self._moved = False
        self._draw()

    def move(self, p, event) -> None:
        if not self._dragging or self.active is None:
            self._hover(p)
            return
        q = pixel(p)
        if q != self.points[self.active]:
            self.points[self.active] = q
            self._moved = True
            self.outline.drag(self.points)
            self._draw()

    def _hover(self, p) -> None:
        """The cursor says what a press does here: grab a vertex, add one on the edge, or pick."""
        zoom = self.canvas.zoom()
        if self.points and vertex_at(self.points, p, zoom) is not None:
            shape = Qt.CursorShape.SizeAllCursor
        elif self.points and edge_at(self.points, p, zoom) is not None:
            shape = Qt.CursorShape.CrossCursor
        else:
            shape = Qt.CursorShape.ArrowCursor
        if self.canvas.viewport().cursor().shape() != shape:
            self.canvas.viewport().setCursor(shape)

    def release(self, p, event) -> None:
        if not self._dragging:
            return
        self.move(p, event)
        self._dragging = False
        if self._moved:
            self.outline.commit(self.points, "Move vertex")
        self._show_target()

    def key_press(self, event) -> bool:
        if event.key() in DELETE_KEYS and self.active is not None and self.points:
            self._delete(self.active)
            return True
        if event.key() != Qt.Key.Key_Escape:
            return False
        if self._dragging:  # Esc during a drag puts the vertex back
            self._dragging = False
            self.outline.cancel_drag()
            self._show_target()
            return True
        if self.points:
            self.cancel()
            if self.editor.instance_mode:
                self.editor.set_selection([])
            return True
        return False

    def claims_key(self, event) -> bool:
        """Delete removes the touched vertex, not the whole instance (the Edit menu's Delete)."""
        return event.key() in DELETE_KEYS and self.active is not None and bool(self.points)

    def _delete(self, k: int) -> None:
        if self.outline.refused():
            return
        self.active = None
        self.outline.delete_vertex(k)
        self._show_target()

    def cancel(self) -> None:
        self._dragging = False
        self.outline.clear()
        self.points, self.active = [], None
        self._draw()

    def say(self, text: str) -> None:
        self.editor.state.status_message.emit(text)
