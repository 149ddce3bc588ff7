"""The project's images with their state (not started / predicted / corrected) and reviewed mark (✓,
core/store/review.py), a text filter, a state filter and a reviewed filter. Statuses are read lazily (only
rows on screen) so a 5,000-image project opens at once. The filters never hide the image on screen
(it stays listed until another is opened) and start afresh with each project."""
from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QListView, QPushButton, QVBoxLayout, QWidget

from maskwork.core.domain.annotation import Status
from maskwork.core.domain.errors import MaskworkError
from maskwork.core.store.project import Project
from maskwork.core.store.review import reviewed_names

STATUS_COLOURS = {Status.NOT_STARTED: "#9e9e9e", Status.PREDICTED: "#f0a030", Status.CORRECTED: "#4caf50"}
STATUS_MARKS = {Status.NOT_STARTED: "○", Status.PREDICTED: "◐", Status.CORRECTED: "●"}
ALL_STATES = "All states"
REVIEW_FILTERS = {"Reviewed or not": None, "Reviewed": True, "Not reviewed": False}
REVIEWED_MARK = "✓"
NameRole = Qt.ItemDataRole.UserRole + 1
StatusRole = Qt.ItemDataRole.UserRole + 2
ReviewedRole = Qt.ItemDataRole.UserRole + 3


class ImageListModel(QAbstractListModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.names: list[str] = []
        self._status: dict[str, Status] = {}
        self.reviewed: set[str] = set()

    def set_project(self, project) -> None:
        self.beginResetModel()
        self.project = project
        self.names = project.image_names() if project is not None else []
        self._status = {}
        self.reviewed = reviewed_names(project) if project is not None else set()
        self.endResetModel()

    def refresh_reviewed(self, names: list[str]) -> None:
        """The reviewed marks of these images changed (core/store/review.py)."""
        self.reviewed = reviewed_names(self.project) if self.project is not None else set()
        for name in names:
            if name in self.names:
                i = self.index(self.names.index(name))
                self.dataChanged.emit(i, i)

    def status(self, name: str) -> Status:
        status = self._status.get(name)
        if status is None:
            if self.project is None:  # no project lists no rows: nothing asks
                return Status.NOT_STARTED
            try:
                status = self.project.annotation(name).status
            except MaskworkError:
                status = Status.NOT_STARTED  # unreadable: the error shows when the image is opened
            self._status[name] = status
        return status

    def refresh(self, name: str) -> None:
        """Re-read one image's state (after an edit, a prediction or a save)."""
        self._status.pop(name, None)
        if name in self.names:
            i = self.index(self.names.index(name))
            self.dataChanged.emit(i, i)

    def refresh_names(self, names: list[str]) -> None:
        for name in names:
            self.refresh(name)

    def refresh_all(self) -> None:
        """States may have changed anywhere (a batch prediction): re-read them lazily."""
        self._status.clear()
        if self.names:
            self.dataChanged.emit(self.index(0), self.index(len(self.names) - 1))

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.names)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        name = self.names[index.row()]
        if role == NameRole:
            return name
        if role == StatusRole:
            return self.status(name).value
        if role == ReviewedRole:
            return name in self.reviewed
        if role == Qt.ItemDataRole.DisplayRole:
            mark = f"  {REVIEWED_MARK}" if name in self.reviewed else ""
            return f"{STATUS_MARKS[self.status(name)]}  {name}{mark}"
        if role == Qt.ItemDataRole.ForegroundRole:
            return QColor(STATUS_COLOURS[self.status(name)])
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{name}: {self.status(name).value}" + (", reviewed" if name in self.reviewed else "")
        return None


class StateFilter(QSortFilterProxyModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.state: str | None = None
        self.reviewed: bool | None = None  # None: either
        self.pinned: str | None = None     # the image on screen: always listed
        self.only: set[str] | None = None  # "review these": a list another panel asked for
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterRole(NameRole)

    def set_state(self, state: str | None) -> None:
        self._change(lambda: setattr(self, "state", state))

    def set_reviewed(self, reviewed: bool | None) -> None:
        self._change(lambda: setattr(self, "reviewed", reviewed))

    def set_pinned(self, name: str | None) -> None:
        self._change(lambda: setattr(self, "pinned", name))

    def set_only(self, names: set[str] | None) -> None:
        self._change(lambda: setattr(self, "only", names))

    def _change(self, apply) -> None:
        if not hasattr(self, "beginFilterChange"):  # Qt < 6.10
            apply()
            self.invalidateFilter()
            return
        self.beginFilterChange()
        apply()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent) -> bool:
        index = self.sourceModel().index(row, 0, parent)
        if self.pinned is not None and index.data(NameRole) == self.pinned:
            return True  # marking it reviewed under "Not reviewed" must not pull it from under the user
        if not super().filterAcceptsRow(row, parent):
            return False
        if self.only is not None and index.data(NameRole) not in self.only:
            return False
        if self.reviewed is not None and index.data(ReviewedRole) != self.reviewed:
            return False
        return self.state is None or index.data(StatusRole) == self.state


class ImageListPanel(QWidget):
    """Emits open_requested(name) when the user picks an image; follows the current image."""

    open_requested = Signal(str)

    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self._filtering = False
        self.model = ImageListModel(self)
        self.proxy = StateFilter(self)
        self.proxy.setSourceModel(self.model)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by name…")
        self.filter_edit.setToolTip("Show only images whose name contains this text")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(lambda t: self._refilter(self.proxy.setFilterFixedString, t))
        self.state_combo = QComboBox()
        self.state_combo.addItems([ALL_STATES] + [s.value for s in Status])
        self.state_combo.setToolTip("Show only images in this state")
        self.state_combo.currentTextChanged.connect(
            lambda t: self._refilter(self.proxy.set_state, None if t == ALL_STATES else t))
        self.review_combo = QComboBox()
        self.review_combo.addItems(list(REVIEW_FILTERS))
        self.review_combo.setToolTip(f"Show only images you marked reviewed ({REVIEWED_MARK}, R), or only the others")
        self.review_combo.currentTextChanged.connect(
            lambda t: self._refilter(self.proxy.set_reviewed, REVIEW_FILTERS[t]))
        self.only_button = QPushButton()
        self.only_button.setToolTip("Click to show every image again")
        self.only_button.clicked.connect(lambda: self.show_only(None))
        self.only_button.hide()
        self.view = QListView()
        self.view.setModel(self.proxy)
        self.view.setUniformItemSizes(True)  # only visible rows are asked for their state
        self.view.setSelectionMode(QListView.SelectionMode.ExtendedSelection)  # export "selected images"
        self.view.setToolTip("Images of the project: ○ not started, ◐ predicted, ● corrected; "
                             f"{REVIEWED_MARK} reviewed (R)")
        self.view.selectionModel().currentChanged.connect(self._picked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        filters = QHBoxLayout()
        filters.addWidget(self.state_combo, 1)
        filters.addWidget(self.review_combo, 1)
        layout.addWidget(self.filter_edit)
        layout.addLayout(filters)
        layout.addWidget(self.only_button)
        layout.addWidget(self.view)
        state.project_changed.connect(self._project_changed)
        state.image_changed.connect(self._image_changed)
        state.layer_changed.connect(lambda _box: self._refresh_current())
        state.prediction_changed.connect(self.model.refresh_all)
        state.annotations_changed.connect(self.model.refresh_names)  # "run on all"
        state.reviewed_changed.connect(self._reviewed_changed)
        state.review_requested.connect(self.show_only)

    def _refilter(self, apply, value) -> None:
        """Filtering moves the view's current row; that must not switch the open image."""
        self._filtering = True
        try:
            apply(value)
        finally:
            self._filtering = False
        if self.state.current_name:
            self.select(self.state.current_name)

    def show_only(self, names: list[str] | None, why: str = "") -> None:
        """Only these images (None: all again), with a button saying which and clearing it."""
        self._refilter(self.proxy.set_only, None if names is None else set(names))
        self.only_button.setText(f"Showing only the {why}  ✕" if names is not None else "")
        self.only_button.setVisible(names is not None)

    def _project_changed(self) -> None:
        """Another project: its whole list, no filter of the last one (a "Not reviewed" left on hid images)."""
        self.proxy.pinned = None
        self.proxy.only = None
        self.only_button.hide()
        self.filter_edit.clear()
        self.state_combo.setCurrentText(ALL_STATES)
        self.review_combo.setCurrentIndex(0)  # "Reviewed or not"
        self.model.set_project(self.state.project)

    def _image_changed(self, name: str) -> None:
        self._refilter(self.proxy.set_pinned, name)  # _refilter selects it

    def _reviewed_changed(self, names: list[str]) -> None:
        self.model.refresh_reviewed(names)
        if self.proxy.reviewed is not None:  # a row may leave or join the filtered list
            self._refilter(self.proxy.set_reviewed, self.proxy.reviewed)

    def _refresh_current(self) -> None:
        if self.state.current_name:
            self.model.refresh(self.state.current_name)

    def _picked(self, current, _previous) -> None:
        name = current.data(NameRole) if current.isValid() else None
        if name and not self._filtering and name != self.state.current_name:
            self.open_requested.emit(name)

    def select(self, name: str) -> None:
        if name not in self.model.names:
            return
        index = self.proxy.mapFromSource(self.model.index(self.model.names.index(name)))
        if index.isValid() and index != self.view.currentIndex():
            self.view.setCurrentIndex(index)
            self.view.scrollTo(index)

    def selected_names(self) -> list[str]:
        return sorted(i.data(NameRole) for i in self.view.selectionModel().selectedIndexes())

    def visible_names(self) -> list[str]:
        """Names shown after filtering, in order (next/previous walk these)."""
        return [self.proxy.index(r, 0).data(NameRole) for r in range(self.proxy.rowCount())]

    def neighbour(self, step: int) -> str | None:
        names = self.visible_names()
        if not names:
            return None
        cur = self.state.current_name
        if cur not in names:
            return names[0]
        i = names.index(cur) + step
        return names[i] if 0 <= i < len(names) else None
