"""Compare window: model A vs model B (float vs int8 by default) on the current image.

It opens comparing: once the model list is read it runs the current model (else the project's
default) float vs int8 when its weights are on this computer. Esc, Ctrl+W and Close close it.
Results are drawn in the project's class colours, as the canvas draws predictions.

Side by side with synchronised zoom/pan, or one view with a swipe line; pixels where the two results
disagree can be highlighted. Latency and model size for each; agreement IoU between them.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from maskwork.core.domain.annotation import ClassList
from maskwork.core.metrics.layer_diff import disagreement, highlight
from maskwork.core.models.catalog.defaults import default_model_for
from maskwork.core.models.compare import HERE, compare_partner
from maskwork.core.models.prediction_layer import result_layer
from maskwork.core.models.predictor_cache import calibration_paths
from maskwork.core.view.render import bgra_lut, render_window
from maskwork.gui.compare.jobs import CompareOutcome, run_compare
from maskwork.gui.compare.qimage import premultiplied_to_pixmap, to_pixmap
from maskwork.gui.compare.views import SwipeView, ZoomView, sync_views
from maskwork.gui.panels.job_bar import JobBar
from maskwork.gui.state import AppState
from maskwork.gui.workers import Job

MODES = ("Side by side", "Swipe")
PICKER_TIP = "Use the int8-quantized version of this model"  # model states that run without a download


def display_classes(project_classes, model_classes) -> ClassList:
    """The model's classes in the project's colours where the project has the id (as the canvas
    colours a prediction); the model's own colour only for ids the project lacks."""
    out = ClassList()
    for c in model_classes or []:
        color = project_classes.get(c.id).color if project_classes is not None and c.id in project_classes else c.color
        out.add(c.name, color, c.id)
    return out


def _mb(size_bytes: int) -> str:
    return f"{size_bytes / 1e6:.1f} MB"


def speed_text(a_ms: float, b_ms: float) -> str:
    if a_ms <= 0 or b_ms <= 0:
        return ""
    ratio = a_ms / b_ms
    return f"B is {ratio:.2f}x faster than A" if ratio >= 1 else f"B is {1 / ratio:.2f}x slower than A"


class ModelPicker(QWidget):
    """Model name + int8 switch for one side."""

    def __init__(self, title: str, parent=None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setToolTip(f"Model for side {title}")
        self.int8 = QCheckBox("int8")
        self.int8.setToolTip(PICKER_TIP)
        self.supports: dict = {}  # model name -> core.models.int8.dispatch.Int8Support (from the model list)
        self._wanted = False      # the int8 choice, kept while a model that cannot switch is shown
        self.int8.toggled.connect(self._remember)
        self.combo.currentTextChanged.connect(lambda _name: self._show_support())
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel(title))
        row.addWidget(self.combo, 1)
        row.addWidget(self.int8)

    def set_names(self, names: list[str], current: str | None, int8: bool) -> None:
        self.combo.clear()
        self.combo.addItems(names)
        if current in names:
            self.combo.setCurrentText(current)
        self._wanted = int8
        self._show_support()

    def _remember(self, checked: bool) -> None:
        if self.int8.isEnabled():
            self._wanted = checked

    def _show_support(self) -> None:
        """An int8 ONNX file is int8 and a model without int8 is float: the box shows it, disabled."""
        support = self.supports.get(self.combo.currentText())
        fixed = support is not None and not support.switchable
        self.int8.setEnabled(not fixed)
        self.int8.setChecked(support.mode == "only" if support is not None and fixed else self._wanted)
        self.int8.setToolTip(support.reason if support is not None else PICKER_TIP)

    def choice(self) -> tuple[str, bool]:
        return self.combo.currentText(), self.int8.isChecked()


class CompareWindow(QWidget):
    def __init__(self, state: AppState, parent=None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Compare models - Maskwork")
        self.resize(1400, 850)
        self.state = state
        self.outcome: CompareOutcome | None = None
        self.diff_mask = np.zeros((0, 0), bool)
        self._rgb: np.ndarray | None = None  # the image the running/last comparison used
        self._listed = False   # the registry's model names are in the pickers

        self.picker_a, self.picker_b = ModelPicker("A"), ModelPicker("B")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Run both models on the current image (in the background)")
        self.compare_button.clicked.connect(self.start)
        self.mode = QComboBox()
        self.mode.addItems(MODES)
        self.mode.setToolTip("Side by side with linked zoom, or one view with a swipe line")
        self.mode.currentIndexChanged.connect(lambda i: self.stack.setCurrentIndex(i))
        self.diff_box = QCheckBox("Highlight disagreement (green)")
        self.diff_box.setToolTip("Bright green: pixels whose class differs between A and B")
        self.diff_box.setChecked(True)
        self.diff_box.toggled.connect(self._show_diff)
        self.fit_button = QPushButton("Fit")
        self.fit_button.clicked.connect(self.fit)
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Close this window (Esc, Ctrl+W)")
        self.close_button.clicked.connect(self.close)
        QShortcut(QKeySequence("Ctrl+W"), self, self.close)  # Esc: keyPressEvent (children may take it first)
        self._auto = True  # compare once, on its own, when the model list is in
        self.jobs = JobBar()
        self.jobs.busy_changed.connect(lambda busy: self.compare_button.setEnabled(not busy))

        self.view_a, self.view_b = ZoomView(), ZoomView()
        sync_views(self.view_a, self.view_b)
        self.swipe = SwipeView()
        self.swipe_slider = QSlider(Qt.Orientation.Horizontal)
        self.swipe_slider.setRange(0, 1000)
        self.swipe_slider.setValue(500)
        self.swipe_slider.setToolTip("Drag: A on the left of the line, B on the right")
        self.swipe_slider.valueChanged.connect(lambda v: self.swipe.set_split(v / 1000))
        self.stats_a, self.stats_b = QLabel("A: -"), QLabel("B: -")
        self.mean_label = QLabel("Agreement: run a comparison")
        self.mean_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["", "agreement IoU"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

        self.stack: QStackedWidget = QStackedWidget()
        side = QSplitter()
        for view, stats in ((self.view_a, self.stats_a), (self.view_b, self.stats_b)):
            box = QWidget()
            col = QVBoxLayout(box)
            col.setContentsMargins(0, 0, 0, 0)
            col.addWidget(stats)
            col.addWidget(view, 1)
            side.addWidget(box)
        swipe_box = QWidget()
        col = QVBoxLayout(swipe_box)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(QLabel("A left of the line, B right of it: drag the slider to swipe"))
        col.addWidget(self.swipe, 1)
        col.addWidget(self.swipe_slider)
        self.stack.addWidget(side)
        self.stack.addWidget(swipe_box)

        controls = QGridLayout()
        controls.addWidget(self.picker_a, 0, 0)
        controls.addWidget(self.picker_b, 0, 1)
        controls.addWidget(self.compare_button, 0, 2)
        view_row = QHBoxLayout()
        view_row.addWidget(QLabel("View"))
        view_row.addWidget(self.mode)
        view_row.addWidget(self.diff_box)
        view_row.addStretch(1)
        controls.addLayout(view_row, 1, 0, 1, 2)
        controls.addWidget(self.fit_button, 1, 2)
        controls.addWidget(self.close_button, 0, 3)
        right = QVBoxLayout()
        right.addWidget(self.mean_label)
        right.addWidget(self.table, 1)
        body = QHBoxLayout()
        body.addWidget(self.stack, 4)
        body.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.jobs)
        layout.addLayout(body, 1)
        self.set_model_names([state.model_name] if state.model_name else [])

    # ---- setup ------------------------------------------------------------------------
    def set_model_names(self, names: list[str], current: str | None = None,
                        partner: tuple[str, bool] | None = None) -> None:
        """Fill both pickers; default: the current model, float on A and int8 on B, or on B the `partner`
        (core.models.compare.compare_partner) when the model has no int8 to switch to."""
        current = current or self.state.model_name or (names[0] if names else None)
        self._listed = len(names) > 1 or self._listed
        self.picker_a.set_names(names, current, False)
        self.picker_b.set_names(names, *(partner or (current, True)))

    def compare_pair(self, a: tuple[str, bool], b: tuple[str, bool], names: list[str],
                     image: str | None = None) -> None:
        """Open on two given models (the Dataset tab's A and B) and compare them on `image` once it is the one
        on screen (opening it may take a worker a moment)."""
        self._auto, self._listed = False, True
        self.picker_a.set_names(names, *a)
        self.picker_b.set_names(names, *b)
        if image is None or image == self.state.current_name:
            self.start()
            return

        def when_open(name: str) -> None:
            if name == image:
                self.state.image_changed.disconnect(when_open)
                self.start()

        self.state.image_changed.connect(when_open)

    def load_model_names(self) -> None:
        """Read the registry in a Job (it imports torch) and fill the pickers."""
        from maskwork.gui.panels.model_jobs import list_models

        self._listed = True
        self.jobs.run(Job(list_models), self._on_listed)

    def model_to_compare(self, names) -> str | None:
        """The model in use, else the project's model setting, else its default (core.models.catalog.defaults)."""
        p = self.state.project
        candidates = [self.state.model_name]
        if p is not None:
            candidates += [p.settings.get("model"), default_model_for(p.task, p.classes)]
        return next((n for n in candidates if n and n in names), None)

    def _on_listed(self, entries) -> None:
        states = {e.name: e.state for e in entries}
        for picker in (self.picker_a, self.picker_b):
            picker.supports = {e.name: e.int8 for e in entries if e.int8 is not None}
        current = self.model_to_compare(states)
        partner = compare_partner(current, entries) if current else None
        self.set_model_names(list(states), current, partner)
        if not self._auto:
            return
        self._auto = False
        fetch = [n for n in (current, partner and partner[0]) if n and states[n] not in HERE]
        if current is None:
            self.mean_label.setText("Pick a model for A and B, then press Compare.")
        elif partner is None:
            self.mean_label.setText(self.no_partner_text(current, entries))
        elif fetch:
            self.mean_label.setText(f"{' and '.join(f'{n} ({states[n]})' for n in fetch)}: press Compare to fetch "
                                    f"{'it' if len(fetch) == 1 else 'them'} and compare.")
        else:
            self.start()

    @staticmethod
    def no_partner_text(name: str, entries) -> str:
        """Nothing to put next to a model that cannot switch to int8: say why and what the user can do."""
        own = next(e for e in entries if e.name == name)
        why = own.int8.reason if own.int8 is not None else f"{name} has no int8 version."
        return (f"{why} No other {own.task} model here segments its classes. To compare, add one (Model > Add "
                f"model file…) or pick one for B; to see how {name} does on this image, compare it with your "
                "corrections in the IoU panel.")

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:  # like a dialog: reaches us when no child used the key
            self.close()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event) -> None:
        self.jobs.cancel()  # a comparison nobody will see
        super().closeEvent(event)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._listed and not self.jobs.busy:
            self.load_model_names()

    # ---- run --------------------------------------------------------------------------
    def start(self) -> None:
        if self.jobs.busy:
            return
        if self.state.image is None:
            self.mean_label.setText("Open an image first.")
            return
        a, b = self.picker_a.choice(), self.picker_b.choice()
        if not a[0] or not b[0]:
            self.mean_label.setText("Pick a model for A and for B.")
            return
        if a == b:
            switch = "switch int8 on one side or " if self.picker_b.int8.isEnabled() else ""
            self.mean_label.setText(f"A and B are the same model: {switch}pick another model for B.")
            return
        self.mean_label.setText("comparing...")
        calibration = calibration_paths(self.state.project)
        self._rgb = self.state.image  # the user may switch images meanwhile: show what was compared
        self.jobs.run(Job(run_compare, a, b, self._rgb, self.state.score_threshold, calibration),
                      self.show_outcome, on_cancel=lambda: self.mean_label.setText("comparison cancelled"),
                      on_fail=lambda _msg: self.mean_label.setText("the comparison failed (see the message)"))

    def show_outcome(self, outcome: CompareOutcome) -> None:
        self.outcome = outcome
        rgb = self._rgb if self._rgb is not None else self.state.image
        if rgb is None:  # start() compares only with an image open
            return
        shape = rgb.shape[:2]
        layers = [result_layer(s.result, self.state.score_threshold) for s in (outcome.a, outcome.b)]
        p = self.state.project
        classes = display_classes(None if p is None else p.classes, getattr(outcome.a.result, "classes", None))
        lut = bgra_lut(classes, size=max([256] + [c.id + 1 for c in classes]))
        window = (0, 0, shape[1], shape[0])
        image_pm = to_pixmap(rgb)
        overlays = [premultiplied_to_pixmap(render_window(layer, window, lut)) for layer in layers]
        self.diff_mask = disagreement(layers[0], layers[1], shape)
        diff_pm = to_pixmap(highlight(self.diff_mask))
        self.view_a.set_pixmaps(image_pm, overlays[0], diff_pm)
        self.view_b.set_pixmaps(image_pm, overlays[1], diff_pm)
        self.swipe.set_pixmaps(image_pm, overlays[0], diff_pm)
        self.swipe.set_b(image_pm, overlays[1], diff_pm)
        self._show_diff(self.diff_box.isChecked())
        for label, side in ((self.stats_a, outcome.a), (self.stats_b, outcome.b)):
            label.setText(f"<b>{side.label}</b>: {side.latency_ms:.0f} ms, model {_mb(side.size_bytes)}")
        self._fill_table(outcome)
        self.fit()

    def _fill_table(self, outcome: CompareOutcome) -> None:
        self.table.setHorizontalHeaderLabels([outcome.kind, "agreement IoU"])
        self.table.setRowCount(len(outcome.rows))
        for r, (name, iou) in enumerate(outcome.rows):
            self.table.setItem(r, 0, QTableWidgetItem(name))
            item = QTableWidgetItem("-" if math.isnan(iou) else f"{iou:.3f}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(r, 1, item)
        diff_pct = 100.0 * float(np.mean(self.diff_mask)) if self.diff_mask.size else 0.0
        mean = "-" if math.isnan(outcome.mean_iou) else f"{outcome.mean_iou:.3f}"
        self.mean_label.setText(f"<b>Mean agreement IoU: {mean}</b><br>{diff_pct:.2f}% of pixels differ<br>"
                                f"{speed_text(outcome.a.latency_ms, outcome.b.latency_ms)}")

    # ---- view -------------------------------------------------------------------------
    def _show_diff(self, visible: bool) -> None:
        for view in (self.view_a, self.view_b):
            view.diff_item.setVisible(visible)
        self.swipe.set_diff_visible(visible)

    def fit(self) -> None:
        self.view_a.fit()
        self.swipe.fit()
