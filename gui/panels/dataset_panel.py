"""Dataset panel: a sortable table of every corrected image that has a prediction, with its IoU.

The scores are computed by core.metrics.dataset_scores in a Job; clicking a row asks the main window to open
that image (AppState.request_open).
"""
from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from maskwork.core.domain.annotation import ImageAnnotation
from maskwork.core.domain.errors import MaskworkError
from maskwork.core.metrics.dataset_scores import ImageScore, score_annotations
from maskwork.core.store.project import Project
from maskwork.gui import theme
from maskwork.gui.panels.iou_panel import HEADLINE_TIP
from maskwork.gui.panels.job_bar import JobBar
from maskwork.gui.panels.model_comparison import ModelComparisonPanel
from maskwork.gui.panels.sortable_table import sortable_table
from maskwork.gui.state import AppState
from maskwork.gui.workers import Job

Role = Qt.ItemDataRole
SORT_ROLE = Role.UserRole + 1
LOAD_BATCH = 25  # annotations read per event-loop turn: the window stays responsive on big projects
DATASET_TIP = ("The IoU tab's score over every scored image: the classes' mean IoU of all their pixels "
               "together (semantic), or the PQ of all their objects together (instances; a mean of "
               "per-image scores would let a small image count as much as a crowded one).\n\n" + HEADLINE_TIP)


def _fmt_iou(value) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def _class_iou(class_id: int) -> Callable[[ImageScore], float | None]:
    return lambda s: s.per_class.get(class_id)


class ScoreTableModel(QAbstractTableModel):
    """Rows: core.metrics.dataset_scores.ImageScore; columns depend on the task (per-class or matching counts)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.scores: list[ImageScore] = []
        self.columns: list[tuple[str, Callable[[ImageScore], object]]] = []

    def set_scores(self, scores: list, task: str, classes) -> None:
        self.beginResetModel()
        self.scores = list(scores)
        # column 1 is the IoU tab's headline: mean IoU of the classes, or PQ of the objects
        cols: list[tuple[str, Callable[[ImageScore], object]]] = [
            ("Image", lambda s: s.name), ("Mean IoU" if task == "semantic" else "PQ", lambda s: s.headline)]
        if task == "semantic":  # every scored class (an "unlabeled" class 0 is not scored)
            for c in (c for c in classes if c.id != classes.ignore_id()):
                cols.append((c.name, _class_iou(c.id)))
        else:
            cols += [("Matched", lambda s: s.matched), ("Missed", lambda s: s.missed),
                     ("Extra", lambda s: s.extra)]
        self.columns = cols
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.scores)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Role.DisplayRole):
        if role == Role.DisplayRole and orientation == Qt.Orientation.Horizontal and section < len(self.columns):
            return self.columns[section][0]
        return None

    def value(self, row: int, column: int):
        return self.columns[column][1](self.scores[row])

    def data(self, index, role=Role.DisplayRole):
        if not index.isValid():
            return None
        value = self.value(index.row(), index.column())
        if role == Role.DisplayRole:
            return value if isinstance(value, str) else (_fmt_iou(value) if isinstance(value, float) or value is None
                                                         else str(value))
        if role == SORT_ROLE:  # missing values sort below every number
            if isinstance(value, str):
                return value
            return -1.0 if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
        if role == Role.TextAlignmentRole and not isinstance(value, str):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role in (Role.BackgroundRole, Role.ForegroundRole) and index.column() == 1 and isinstance(value, float) \
                and not math.isnan(value):
            # red (bad) to green (good): the worst images stand out; shade and text follow the theme
            shade = theme.score_colour(value)
            return shade if role == Role.BackgroundRole else theme.readable_on(shade)
        return None


class DatasetPanel(QWidget):
    def __init__(self, state: AppState, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        # (project, names, [(name, annotation)...]) while annotations are read
        self._loading: tuple[Project, list[str], list[tuple[str, ImageAnnotation | None]]] | None = None
        self.model = ScoreTableModel(self)
        self.proxy, self.table = sortable_table(self.model, SORT_ROLE, self, "Click an image to open it; click a "
                                                "header to sort (worst IoU first, etc.)")
        self.table.clicked.connect(self._on_clicked)
        self.refresh_button = QPushButton("Compute IoU for all images")
        self.refresh_button.setToolTip("Compare prediction and correction on every corrected image")
        self.refresh_button.clicked.connect(self.refresh)
        self.summary = QLabel("Run a model and correct some images; then compute the table.")
        self.summary.setWordWrap(True)
        self.summary.setToolTip(DATASET_TIP)
        self.jobs = JobBar()
        self.jobs.busy_changed.connect(lambda busy: self.refresh_button.setEnabled(not busy))

        row = QHBoxLayout()
        row.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignLeft)
        row.addWidget(self.jobs, 1)
        scores = QWidget()
        page = QVBoxLayout(scores)
        page.setContentsMargins(0, 0, 0, 0)
        page.addLayout(row)
        page.addWidget(self.summary)
        page.addWidget(self.table, 1)
        # a second model over the whole project: which is better where (gui/panels/model_comparison.py)
        self.comparison = ModelComparisonPanel(state)
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(scores, "Model vs corrections")
        self.pages.addTab(self.comparison, "Two models")
        self.pages.setTabToolTip(1, "Model A against model B on every image: per-image scores, where they disagree, "
                                    "and whether B is really better")
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        state.comparison_requested.connect(lambda _a, _b: self.pages.setCurrentWidget(self.comparison))
        state.project_changed.connect(self._clear)

    def refresh(self) -> None:
        """Load the annotations here on the GUI thread, a batch per event-loop turn (the project's cache
        is not thread-safe), then score them in a Job."""
        project = self.state.project
        if project is None:
            self.summary.setText("Open a project first.")
            return
        if self.jobs.busy or self._loading is not None:
            return
        self._loading = (project, project.image_names(), [])
        self.refresh_button.setEnabled(False)
        self._load_batch()

    def _load_batch(self) -> None:
        if self._loading is None:  # set by refresh() before the first batch
            return
        project, names, loaded = self._loading
        if project is not self.state.project:  # another project was opened meanwhile
            self._loading = None
            self.refresh_button.setEnabled(True)
            return
        for name in names[len(loaded) : len(loaded) + LOAD_BATCH]:
            try:
                loaded.append((name, project.annotation(name)))
            except MaskworkError:  # too large or damaged image: it says why when opened; not scored
                loaded.append((name, None))
        self.summary.setText(f"reading annotations {len(loaded)}/{len(names)}...")
        if len(loaded) < len(names):
            QTimer.singleShot(0, self._load_batch)
            return
        self._loading = None
        readable = [(name, ann) for name, ann in loaded if ann is not None]
        self.jobs.run(Job(score_annotations, readable, project.classes.ids(), len(readable),
                              ignore_index=project.classes.ignore_id()), self._on_scores,
                      on_cancel=lambda: self.summary.setText("cancelled"))

    def _on_scores(self, report) -> None:
        project = self.state.project
        if project is None:  # closed while scoring
            return
        self.model.set_scores(report.scores, project.task, project.classes)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)  # worst first: that is where to look
        self.summary.setText(report.summary())

    def _clear(self) -> None:
        self.model.set_scores([], getattr(self.state.project, "task", "semantic") or "semantic", [])
        self.summary.setText("Run a model and correct some images; then compute the table.")

    def _on_clicked(self, index) -> None:
        source = self.proxy.mapToSource(index)
        if source.isValid():
            self.state.request_open(self.model.scores[source.row()].name)

    def row_names(self) -> list[str]:
        """Image names in the table's current (sorted) order."""
        return [self.proxy.index(r, 0).data() for r in range(self.proxy.rowCount())]
