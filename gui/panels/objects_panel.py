"""Objects panel: what the current image's correction holds, with an eye and a padlock per row.

Instance projects: one row per class (its eye and padlock act on every object of the class) with
its objects under it: id, source (model / person), score, area. Semantic projects: the classes
present, with their pixel areas. Click a row to select the object on the canvas (and a canvas
selection selects its row); double-click zooms to it. A box-only object (no mask yet) is listed with
a dashed swatch (as the canvas draws it) and its box's area, "box 1,316". Eyes hide from the canvas only, padlocks
refuse edits (gui/object_flags.py): neither changes a mask. Sort by a column header, filter with
words (core/view/object_rows.py).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from maskwork.core.domain.annotation import UNLABELED
from maskwork.core.view.object_rows import FILTER_HELP, Row, class_rows, object_rows, parse_filter
from maskwork.core.view.render import instance_rgb
from maskwork.gui.panels import object_icons as icons
from maskwork.gui.theme import PALETTE_EVENTS

EYE, LOCK, NAME, SOURCE, SCORE, AREA = range(6)
HEADERS = ["", "", "Object", "Source", "Score", "Area"]
KEY = Qt.ItemDataRole.UserRole          # the Row
SORT = Qt.ItemDataRole.UserRole + 1     # per-column sort value
REFRESH_MS = 150                        # a stroke repaints live; the list follows a moment later
MIN_ROWS = 4  # rows the list always has room for (the squeezed dock showed 3; 8 would not fit a 768-pixel screen)
BOX_TIP = ("Box only: this object has a box but no mask yet; its area is the box's width x height. "
           "Paint inside the box (or use click-to-segment) to give it a mask.")


class _Item(QTreeWidgetItem):
    def __lt__(self, other) -> bool:  # numbers as numbers; no score (a person's) after every score
        col = self.treeWidget().sortColumn() if self.treeWidget() else NAME
        return (self.data(col, SORT) or 0) < (other.data(col, SORT) or 0)


class _Tree(QTreeWidget):
    """A press on the eye or padlock column toggles it without changing the selection."""

    def __init__(self, on_toggle) -> None:
        super().__init__()
        self.on_toggle = on_toggle

    def mousePressEvent(self, event) -> None:
        item = self.itemAt(event.position().toPoint())
        col = self.columnAt(int(event.position().x()))
        if item is not None and col in (EYE, LOCK) and event.button() == Qt.MouseButton.LeftButton:
            self.on_toggle(item.data(0, KEY), col)
            return
        super().mousePressEvent(event)


class ObjectsPanel(QWidget):
    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state, self.flags = state, state.flags
        self.editor = getattr(parent, "editor", None)
        self.view = getattr(parent, "view", None)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: class, model, score<0.5, locked…")
        self.filter.setToolTip(FILTER_HELP)
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(lambda _t: self.refresh())
        self.show_all = QPushButton("Show all")
        self.show_all.setToolTip("Show every hidden object and class again")
        self.show_all.clicked.connect(self.flags.show_all)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.show_all)
        self.tree = _Tree(self.toggle)
        self.tree.setColumnCount(len(HEADERS))
        self.tree.setHeaderLabels(HEADERS)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setRootIsDecorated(True)
        self.tree.setTreePosition(NAME)  # branch arrows by the names, eye and padlock in the first columns
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
        header = self.tree.header()
        header.setStretchLastSection(False)
        for col, width in ((EYE, 26), (LOCK, 26)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, width)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        for col in (SOURCE, SCORE, AREA):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        row = max(self.tree.fontMetrics().height() + 4, icons.SIZE + 2)
        self.tree.setMinimumHeight(header.sizeHint().height() + MIN_ROWS * row + 2 * self.tree.frameWidth())
        self.tree.headerItem().setToolTip(EYE, "Shown on the canvas (click to hide; view only, masks unchanged)")
        self.tree.headerItem().setToolTip(LOCK, "Locked against edits (click to lock; kept with the project)")
        self.tree.itemSelectionChanged.connect(self._selected)
        self.tree.itemDoubleClicked.connect(lambda item, _col: self.zoom_to(item.data(0, KEY)))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.summary)
        self._syncing = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        for signal in (state.project_changed, state.classes_changed):
            signal.connect(self.refresh)
        state.image_changed.connect(lambda _name: self.refresh())
        state.layer_changed.connect(self._layer_changed)
        state.prediction_changed.connect(self._timer.start)
        state.current_class_changed.connect(lambda _cid: self._follow_canvas())
        self.flags.changed.connect(lambda _box: self.refresh())
        if self.editor is not None:
            self.editor.selection_changed.connect(self._follow_canvas)
        self.refresh()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() in PALETTE_EVENTS and hasattr(self, "_timer"):  # not while being built
            self.refresh()  # another theme: eyes and padlocks are drawn in the palette's colours

    def _layer_changed(self, box) -> None:
        """A whole-layer change (open, accept, import) shows at once; strokes are batched."""
        if box is None:
            self.refresh()
        else:
            self._timer.start()

    # ---- contents ------------------------------------------------------------------------------
    @property
    def instance_mode(self) -> bool:
        p = self.state.project
        return p is not None and p.task == "instance"

    def rows(self) -> list[Row]:
        """Every row for the current image, filter not applied (objects, or classes if semantic)."""
        ann, p = self.state.annotation, self.state.project
        if ann is None or p is None:
            return []
        if self.instance_mode:
            return object_rows(ann.corrected, p.classes, self.flags)
        keep = self.flags.hidden_classes | self.flags.locked_classes
        return class_rows(ann.corrected, p.classes, self.flags, keep)

    def refresh(self) -> None:
        self._timer.stop()
        rows = self.rows()
        keep = parse_filter(self.filter.text())
        shown = [r for r in rows if keep(r)]
        tops = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        collapsed = {top.data(0, KEY).class_id for top in tops if top is not None and not top.isExpanded()}
        scroll = self.tree.verticalScrollBar().value()
        self._syncing = True
        self.tree.setUpdatesEnabled(False)
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        for col in (SOURCE, SCORE):
            self.tree.setColumnHidden(col, not self.instance_mode)
        self.tree.headerItem().setText(NAME, "Object" if self.instance_mode else "Class")
        if self.instance_mode:
            self._fill_objects(shown, collapsed)
        else:
            self._fill_classes(shown, total=sum(r.area for r in rows) or 1)
        self.tree.setSortingEnabled(True)
        self.tree.setUpdatesEnabled(True)
        self.tree.verticalScrollBar().setValue(scroll)
        self._syncing = False
        self._follow_canvas()
        self._summarise(rows, shown)

    def _fill_objects(self, rows: list[Row], collapsed) -> None:
        p = self.state.project
        groups: dict[int, list[Row]] = {}
        for r in rows:
            groups.setdefault(r.class_id, []).append(r)
        for cid in sorted(set(groups) | self.flags.hidden_classes | self.flags.locked_classes):
            members = groups.get(cid, [])
            if cid == UNLABELED and not members:
                continue
            head = Row("class", cid, _name(p, cid), sum(r.area for r in members if not r.box_only),  # pixels
                       hidden=cid in self.flags.hidden_classes, locked=cid in self.flags.locked_classes)
            parent = self._item(head, head.class_name, _class_rgb(p, cid))
            parent.setText(SOURCE, _plural(len(members), "object"))
            self.tree.addTopLevelItem(parent)
            for r in members:
                if r.id is not None:  # an object row always carries its instance id
                    parent.addChild(self._item(r, f"#{r.id}", instance_rgb(r.id)))
            parent.setExpanded(cid not in collapsed)

    def _fill_classes(self, rows: list[Row], total: int) -> None:
        p = self.state.project
        for r in rows:
            item = self._item(r, r.class_name, _class_rgb(p, r.class_id), flags=r.class_id != UNLABELED)
            item.setText(AREA, f"{r.area:,}  {100 * r.area / total:.1f}%")
            self.tree.addTopLevelItem(item)

    def _item(self, row: Row, name: str, rgb, flags: bool = True) -> _Item:
        item = _Item()
        item.setData(0, KEY, row)
        item.setText(NAME, name)
        item.setIcon(NAME, (icons.box_swatch if row.box_only else icons.swatch)(tuple(rgb)))
        if flags:  # unlabeled pixels are never drawn or protected: no eye, no padlock
            pal, argb = self.palette(), QColor.NameFormat.HexArgb  # a faint colour is its alpha
            text, faint, picked = (pal.text().color().name(argb), pal.placeholderText().color().name(argb),
                                   pal.highlightedText().color().name(argb))
            item.setIcon(EYE, icons.eye(not row.hidden, text, faint, picked))
            item.setIcon(LOCK, icons.padlock(row.locked, faint, picked))
            item.setToolTip(EYE, "Hidden: click to show" if row.hidden else "Shown: click to hide (view only)")
            item.setToolTip(LOCK, "Locked: click to allow edits" if row.locked else "Click to lock against edits")
        if row.kind == "object":
            item.setText(SOURCE, row.source)
            item.setText(SCORE, "—" if row.score is None else f"{row.score:.2f}")
            item.setTextAlignment(SCORE, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setText(AREA, item.text(AREA) or (f"box {row.area:,}" if row.box_only else f"{row.area:,}"))
        if row.box_only:
            item.setToolTip(NAME, BOX_TIP)
            item.setToolTip(AREA, BOX_TIP)
        item.setTextAlignment(AREA, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        sort = {EYE: int(row.hidden), LOCK: int(row.locked), NAME: row.id if row.kind == "object" else row.class_name,
                SOURCE: row.source, SCORE: 2.0 if row.score is None else row.score, AREA: row.area}
        for col, value in sort.items():
            item.setData(col, SORT, value)
        if row.hidden:
            for col in (NAME, SOURCE, SCORE, AREA):
                item.setForeground(col, self.palette().placeholderText())
        return item

    def _summarise(self, rows: list[Row], shown: list[Row]) -> None:
        ann = self.state.annotation
        if ann is None:
            self.summary.setText("No image open.")
            return
        text = _plural(len(rows), "object" if self.instance_mode else "class")
        if len(shown) != len(rows):
            text += f", {len(shown)} match the filter"
        hidden = sum(r.hidden for r in rows)
        locked = sum(r.locked for r in rows)
        boxes = sum(r.box_only for r in rows)
        text += "".join(f" · {n} {word}" for n, word in ((boxes, "box only"), (hidden, "hidden"), (locked, "locked"))
                        if n)
        if not rows and ann.prediction is not None and not ann.prediction.is_empty():
            text += (". The model's prediction is not in the correction yet: accept it (Ctrl+Return, "
                     "or Y to pick some) to list and edit its objects here.")
        self.summary.setText(text)

    # ---- eyes and padlocks ---------------------------------------------------------------------
    def toggle(self, row: Row, col: int) -> None:
        if row is None or (row.kind == "class" and row.class_id == UNLABELED):
            return
        if row.kind == "class":
            if col == EYE:
                self.flags.set_class_hidden(row.class_id, not row.hidden)
            else:
                self.flags.set_class_locked(row.class_id, not row.locked)
            return
        if col == EYE:
            x, y, w, h = self.state.annotation.corrected.instance(row.id).bbox  # a box-only object's box too
            x0, y0 = int(x), int(y)
            self.flags.set_hidden(row.id, row.id not in self.flags.hidden_ids(),
                                  (x0, y0, int(np.ceil(x + w)), int(np.ceil(y + h))))
            if row.id in self.flags.hidden_ids() and self.editor is not None and row.id in self.editor.selected:
                self.editor.set_selection([i for i in self.editor.selected if i != row.id])
        else:
            self.flags.set_locked(row.id, row.id not in self.flags.locked_ids())

    # ---- selection both ways -------------------------------------------------------------------
    def _selected(self) -> None:
        if self._syncing:
            return
        rows = [item.data(0, KEY) for item in self.tree.selectedItems()]
        ids = [r.id for r in rows if r.kind == "object"]
        if ids:
            self.state.select_requested.emit(ids)
        elif rows and rows[0].class_id != UNLABELED:  # a class row: that class is the one painted
            self.state.set_current_class(rows[0].class_id)

    def _follow_canvas(self) -> None:
        """Select the rows of what the canvas has selected (the current class, semantic)."""
        if self._syncing:
            return
        if self.instance_mode:
            wanted = set(self.editor.selected) if self.editor is not None else set()
            match = lambda r: r.kind == "object" and r.id in wanted  # noqa: E731
        else:
            match = lambda r: r.class_id == self.state.current_class  # noqa: E731
        self._syncing = True
        first = None
        for item in self._items():
            on = match(item.data(0, KEY))
            item.setSelected(on)
            first = first or (item if on else None)
        if first is not None:
            self.tree.scrollToItem(first)
        self._syncing = False

    def _items(self):
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            yield top
            for k in range(top.childCount()):
                yield top.child(k)

    def zoom_to(self, row: Row | None) -> None:
        """Double-click: fit the object in the view with a margin around it."""
        if row is None or row.kind != "object" or self.view is None:
            return
        x, y, w, h = self.state.annotation.corrected.instance(row.id).bbox  # the box of a box-only object
        side = max(w, h) * 4 + 32  # the object and its neighbours
        port = self.view.viewport().rect()
        self.view.set_zoom(min(port.width(), port.height()) / side)
        self.view.centerOn(x + w / 2, y + h / 2)


def _name(project, class_id: int) -> str:
    try:
        return project.classes.get(class_id).name
    except KeyError:
        return f"class {class_id}"


def _class_rgb(project, class_id: int) -> tuple[int, int, int]:
    try:
        return project.classes.get(class_id).rgb
    except KeyError:
        return (128, 128, 128)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('s') else 's'}"
