"""The Dataset tab's second model: A and B over every image of the project (core.comparison.compare_models in a
Job), a sortable table with A, B, B - A and disagreement per image, the verdict, a row opening the compare
window on that image with both models, and the images where B loses one click from the image list's
"review these" filter. Without corrected images the ranking by disagreement is the list to correct first."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from maskwork.core.domain.text import plural
from maskwork.gui import theme
from maskwork.gui.compare.window import CompareWindow, ModelPicker
from maskwork.gui.panels.job_bar import JobBar
from maskwork.gui.panels.sortable_table import sortable_table
from maskwork.gui.state import AppState
from maskwork.gui.workers import Job

if TYPE_CHECKING:  # core.comparison imports torch: loaded when a comparison runs, not at start-up
    from maskwork.core.comparison.scores import Comparison, ImageRow

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex

COLUMNS: list[tuple[str, str]] = [  # header, tooltip
    ("Image", ""),
    ("A", "Model A's score against your corrections (mIoU or mask AP)"),
    ("B", "Model B's score against your corrections"),
    ("B - A", "Negative: B does worse than A on this image"),
    ("Differ", "How much A and B differ (share of pixels, or 1 - PQ of their objects): where correcting "
                     "helps most"),
]


def _number(row: ImageRow, column: int) -> float | None:
    return [None, row.a, row.b, row.diff, row.disagreement][column]


class ComparisonTableModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[ImageRow] = []

    def set_rows(self, rows: list[ImageRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or section >= len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][1] or None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], index.column()
        value = _number(row, column)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.image
            if value is None or math.isnan(value):
                return "-"
            return f"{value:+.3f}" if column == 3 else f"{value:.3f}"
        if role == SORT_ROLE:  # missing scores sort below every number
            return row.image if column == 0 else (-2.0 if value is None or math.isnan(value) else float(value))
        if role == Qt.ItemDataRole.TextAlignmentRole and column:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole) and column == 3 \
                and value is not None and value < 0:
            shade = theme.score_colour(max(0.0, 0.5 + value * 5))  # B's losses stand out, in the theme's colours
            return shade if role == Qt.ItemDataRole.BackgroundRole else theme.readable_on(shade)
        return None


class ModelComparisonPanel(QWidget):
    """Pick A and B, compare them over the project in the background, read and act on the table."""

    def __init__(self, state: AppState, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.comparison: Comparison | None = None
        self.picker_a, self.picker_b = ModelPicker("A"), ModelPicker("B")
        self.run_button = QPushButton("Compare A and B on every image")
        self.run_button.setToolTip("Both models on every image of the project (saved corrections are the truth); "
                                   "predictions are cached, so comparing with a third model costs only that one")
        self.run_button.clicked.connect(self.start)
        self.jobs = JobBar()
        self.jobs.busy_changed.connect(lambda busy: self.run_button.setEnabled(not busy))
        self.verdict = QLabel("Pick two models to see which is better on which images.")
        self.verdict.setWordWrap(True)
        self.review_button = QPushButton()
        self.review_button.setToolTip("Show only these images in the image list (clear it there)")
        self.review_button.clicked.connect(self.review_losses)
        self.review_button.hide()
        self.model = ComparisonTableModel(self)
        self.proxy, self.table = sortable_table(self.model, SORT_ROLE, self, "Click an image to open it and compare "
                                                "A and B on it side by side")
        self.table.clicked.connect(self._on_clicked)
        pickers = QGridLayout()
        pickers.addWidget(self.picker_a, 0, 0)
        pickers.addWidget(self.picker_b, 0, 1)  # side by side: the tab fits a 768-pixel-high screen
        row = QHBoxLayout()
        row.addWidget(self.run_button, 0, Qt.AlignmentFlag.AlignLeft)
        row.addWidget(self.jobs, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(pickers)
        layout.addLayout(row)
        layout.addWidget(self.verdict)
        layout.addWidget(self.review_button)
        layout.addWidget(self.table, 1)
        state.project_changed.connect(self.clear)
        state.comparison_requested.connect(self.compare)

    # ---- models -----------------------------------------------------------------------
    def set_model_names(self, names: list[str], a: str | None = None, b: str | None = None) -> None:
        a = a or self.state.model_name or (names[0] if names else None)
        self.picker_a.set_names(names, a, False)
        self.picker_b.set_names(names, b or a, b is None)  # by default: A against its int8 twin

    def load_model_names(self) -> None:
        from maskwork.gui.panels.model_jobs import list_models

        def listed(entries) -> None:
            task = getattr(self.state.project, "task", None)
            fitting = [e.name for e in entries if task is None or e.task == task]
            for picker in (self.picker_a, self.picker_b):
                picker.supports = {e.name: e.int8 for e in entries if e.int8 is not None}
            self.set_model_names(fitting)

        self.jobs.run(Job(list_models), listed)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self.picker_a.combo.count() and not self.jobs.busy:
            self.load_model_names()

    # ---- run --------------------------------------------------------------------------
    def compare(self, a: str, b: str) -> None:
        """A against B, both float, over the project now (e.g. the start model against the model just trained)."""
        names = [self.picker_a.combo.itemText(k) for k in range(self.picker_a.combo.count())]
        names += [n for n in (a, b) if n not in names]
        self.picker_a.set_names(names, a, False)
        self.picker_b.set_names(names, b, False)
        self.start()

    def start(self) -> None:
        project = self.state.project
        if project is None or self.jobs.busy:
            return
        (a, int8_a), (b, int8_b) = self.picker_a.choice(), self.picker_b.choice()
        if not a or not b:
            self.verdict.setText("Pick a model for A and for B.")
            return
        if (a, int8_a) == (b, int8_b):
            self.verdict.setText("A and B are the same model: pick another model or int8 for B.")
            return
        self.verdict.setText(f"comparing {a} with {b} on every image…")
        from maskwork.core.comparison.compare import compare_models

        unsaved = len(project.dirty)  # the comparison reads the project's files: say what it did not see
        self.jobs.run(Job(compare_models, a, b, str(project.root), int8_a=int8_a, int8_b=int8_b),
                      lambda outcome: self.show_result(outcome, unsaved),
                      on_cancel=lambda: self.verdict.setText("comparison cancelled"),
                      on_fail=lambda _msg: self.verdict.setText("the comparison failed (see the message)"))

    def show_result(self, outcome, unsaved: int = 0) -> None:
        comparison: Comparison = outcome[0]
        self.comparison = comparison
        self.model.set_rows(comparison.rows)
        o = comparison.overall
        if o["images_with_truth"]:
            sort_column, order = 3, Qt.SortOrder.AscendingOrder  # B's worst losses first
            lines = [f"{comparison.metric} on {plural(o['images_with_truth'], 'corrected image')}: "
                     f"A {o['a']:.3f}, B {o['b']:.3f} (B - A {o['diff']:+.3f}). {o['verdict']}."]
        else:
            sort_column, order = 4, Qt.SortOrder.DescendingOrder
            lines = []
        lines += comparison.notes
        if unsaved:
            lines.append(f"{plural(unsaved, 'image')} with unsaved changes compared as last saved: save (Ctrl+S) "
                         "and compare again to include them.")
        self.verdict.setText("\n".join(lines))
        self.table.sortByColumn(sort_column, order)
        losses = comparison.losses()
        self.review_button.setText(f"Review the {plural(len(losses), 'image')} where B loses")
        self.review_button.setVisible(bool(losses))

    def clear(self) -> None:
        self.comparison = None
        self.model.set_rows([])
        self.review_button.hide()
        self.verdict.setText("Pick two models to see which is better on which images.")

    # ---- acting on it -----------------------------------------------------------------
    def review_losses(self) -> None:
        if self.comparison is not None:
            losses = self.comparison.losses()
            self.state.request_review(losses, f"{plural(len(losses), 'image')} where B loses")

    def _on_clicked(self, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index)
        if not source.isValid():
            return
        name = self.model.rows[source.row()].image
        self.open_compare_window(name)
        self.state.request_open(name)

    def open_compare_window(self, image: str) -> CompareWindow:
        """The compare window on `image` with A and B, started once that image is on screen."""
        names = [self.picker_a.combo.itemText(k) for k in range(self.picker_a.combo.count())]
        window = CompareWindow(self.state, self.window())
        window.compare_pair(self.picker_a.choice(), self.picker_b.choice(), names, image=image)
        window.show()
        return window
