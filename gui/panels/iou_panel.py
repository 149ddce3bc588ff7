"""IoU panel: the current image's prediction vs its corrected layer, refreshed while the user paints.

core.metrics.live_iou.LiveIoU does the counting (a confusion tracker updated on the edit's box only for
semantic layers; only the edited instances' rows for instance layers); this widget only shows it.
"""
from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from maskwork.core.domain.errors import MaskworkError
from maskwork.core.metrics.live_iou import DETAIL_TITLES, KIND_OF_TASK, LiveIoU
from maskwork.gui import theme
from maskwork.gui.image_loader import ready
from maskwork.gui.panels.iou_builder import LiveIoUBuilder, worth_a_worker
from maskwork.gui.state import AppState
from maskwork.gui.theme import PALETTE_EVENTS

EMPTY_TEXT = {  # LiveIoU.empty_reason -> what the user should do
    "no image": "Open an image.",
    "no prediction": "Run a model to compare: its prediction is measured against your correction.",
    "no correction": "Accept the prediction or draw a correction: IoU compares the two.",
}


HEADLINE_TIP = (
    "Instances: PQ (panoptic quality) = sum of the matched pairs' IoU / (matched + missed/2 + extra/2).\n"
    "A pair matches when its IoU is at least 0.5 and the classes agree. PQ = SQ x RQ: SQ is the mean IoU\n"
    "of the matched pairs, RQ the F1 of the matching. A missed object and an extra (false positive)\n"
    "prediction both lower it. The rows show each of your objects' IoU with its match (0 when missed).\n\n"
    "Classes (semantic): mean IoU over the classes present; wrongly predicted pixels lower the IoU of\n"
    "both the true and the predicted class. Class 0 named unlabeled/void is not scored.")


def prepare_live(project, ann, rgb, display=None):  # display: the canvas's business
    """LiveIoU of an image about to be shown, built in gui/image_loader.py's worker, with the
    layers and classes it was built from (rebuild() uses it only if they are still the same)."""
    classes = project.classes
    try:
        live = LiveIoU(ann, classes)
    except MaskworkError as exc:
        live = exc
    return ann.corrected, ann.prediction, classes.to_list(), live


def fmt(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


class IoUPanel(QWidget):
    def __init__(self, state: AppState, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.live: LiveIoU | None = None
        self.mean_label = QLabel()
        self.mean_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.mean_label.setToolTip(HEADLINE_TIP)
        # a long headline (box-only objects, many counts) wraps inside the dock's width: content must
        # never widen the dock (it did, from ~330 to ~500 px, and the saved layout kept it)
        self.mean_label.setWordWrap(True)
        self.mean_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["", "IoU", ""])
        header = self.table.horizontalHeader()
        # columns 0-1 are fitted to their contents on each full rebuild (_show), not by ResizeToContents:
        # that mode re-measures all rows on every changed cell (~3 ms per cell for 300 instances, per brush move)
        for column in (0, 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)  # the detail column takes what is left; names stay readable
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setToolTip("Per class (semantic) or per corrected instance and its matched prediction; "
                              "click an instance row to select it on the canvas")
        self.table.cellClicked.connect(self._on_row_clicked)
        layout = QVBoxLayout(self)
        layout.addWidget(self.mean_label)
        layout.addWidget(self.hint)
        layout.addWidget(self.table, 1)
        for signal in (state.image_changed, state.prediction_changed, state.project_changed, state.classes_changed):
            signal.connect(self.rebuild)
        state.layer_changed.connect(self.on_edit)
        self.builder = LiveIoUBuilder(state, self)
        self.builder.built.connect(self._built)
        self.rebuild()

    # ---- values shown (also read by tests) -----------------------------------------------
    @property
    def headline(self) -> tuple[str, float]:
        """The score the panel leads with (LiveIoU.headline: PQ for instances, mean IoU for classes)."""
        return self.live.headline() if self.live is not None and self.live.ready else ("", float("nan"))

    @property
    def mean_iou(self) -> float:
        return self.live.mean_iou if self.live is not None and self.live.ready else float("nan")

    def row_values(self) -> dict:
        """Row key (class id or corrected instance id) -> IoU currently displayed."""
        return {} if self.live is None else {r.key: r.iou for r in self.live.rows()}

    # ---- updates ----------------------------------------------------------------------
    def rebuild(self, *_):
        project, ann = self.state.project, self.state.annotation
        classes = getattr(project, "classes", None)
        self.builder.cancel()
        try:
            made = ready(self.state, "iou", ann)
            if (made is not None and classes is not None and made[0] is ann.corrected
                    and made[1] is ann.prediction and made[2] == classes.to_list()):
                if isinstance(made[3], MaskworkError):
                    raise made[3]
                self.live = made[3]  # built in the worker that loaded the image (gui/image_loader.py)
            elif classes is not None and worth_a_worker(ann):  # a big image: counted in a worker
                self.builder.start(ann, classes)
                self.live = None
                self.mean_label.setText("<b>IoU</b>: …")
                self.hint.setText("Counting the IoU of this big image…")
                self.hint.show()
                return
            else:
                self.live = LiveIoU(ann, classes) if ann is not None else None
        except MaskworkError as exc:  # e.g. a prediction of another size: say it, keep the window alive
            self._show_problem(str(exc))
            return
        self._show()

    def _built(self, live) -> None:
        """The worker's LiveIoU, with the edits made while it counted (gui/panels/iou_builder.py)."""
        if isinstance(live, MaskworkError):
            self._show_problem(str(live))
            return
        self.live = live
        self._show()

    def on_edit(self, bbox) -> None:
        if self.builder.busy:
            self.builder.note_edit(bbox)  # replayed on the LiveIoU being built
            return
        if self.live is None:
            self.rebuild()
            return
        try:
            changed = self.live.update(bbox)
        except MaskworkError as exc:
            self._show_problem(str(exc))
            return
        if changed is None:  # the layer kind changed (e.g. first correction): show everything anew
            self._show()
        else:
            self._show(changed)

    def _show_problem(self, message: str) -> None:
        self.live = None
        self.mean_label.setText("<b>IoU</b>: -")
        self.hint.setText(message)
        self.hint.show()
        self._empty_table()

    def _empty_table(self) -> None:
        """No rows yet: the columns the project's images will have (not those of the last image shown)."""
        project = self.state.project
        kind = KIND_OF_TASK.get(project.task, "") if project is not None else ""
        self.table.setRowCount(0)
        self.table.setHorizontalHeaderLabels([kind, "IoU", DETAIL_TITLES.get(kind, "")])

    def _show(self, changed_keys=None) -> None:
        live = self.live
        if live is None or not live.ready:
            reason = "no image" if live is None else live.empty_reason
            self.mean_label.setText("<b>IoU</b>: -")
            self.hint.setText(EMPTY_TEXT.get(reason, reason))
            self.hint.show()
            self._empty_table()
            return
        self.hint.hide()
        name, value = live.headline()
        self.mean_label.setText(f"<b>{name} {fmt(value)}</b>  {live.summary()}")
        rows = live.rows()
        if changed_keys is not None and self.table.rowCount() == len(rows):
            # only the edited rows change: keep the rest of the table as is (no flicker, no cost)
            for r, row in enumerate(rows):
                if row.key in changed_keys:
                    self._set_row(r, row)
            return
        self.table.setHorizontalHeaderLabels([live.kind, "IoU", live.detail_title])
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            self._set_row(r, row)
        for column in (0, 1):
            self.table.resizeColumnToContents(column)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        live = getattr(self, "live", None)  # None too while being built
        if event.type() in PALETTE_EVENTS and live is not None and live.ready:
            self._show()  # another theme: the score shades follow it

    def _on_row_clicked(self, r: int, _column: int) -> None:
        """An instance row selects that object on the canvas (class rows select nothing)."""
        live = self.live
        if live is not None and live.kind == "instance" and 0 <= r < len(live.rows()):
            self.state.select_requested.emit([live.rows()[r].key])

    def _set_row(self, r: int, row) -> None:
        name = QTableWidgetItem(row.label)
        if row.color:
            name.setData(Qt.ItemDataRole.DecorationRole, QColor(row.color))  # a swatch: readable for light colours too
        iou = QTableWidgetItem(fmt(row.iou))
        iou.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if not math.isnan(row.iou):  # the shade and its text from the theme: readable light or dark
            shade = theme.score_colour(row.iou)
            iou.setBackground(shade)
            iou.setForeground(theme.readable_on(shade))
        detail = QTableWidgetItem(row.detail)
        for c, item in enumerate((name, iou, detail)):
            self.table.setItem(r, c, item)
