"""Model panel: pick a model, run it on the current image or all images, threshold, float/int8.

Models are listed, loaded and run in worker Jobs (the first torch import happens there too), so the
window stays responsive. Results become each image's prediction layer; the corrected layer is never
touched. Moving the score threshold re-filters the kept instance result: no new forward pass.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from maskwork.core.domain.errors import MaskworkError
from maskwork.core.domain.text import plural
from maskwork.core.models.prediction_layer import for_project, refilter, store_prediction
from maskwork.core.models.predictor_cache import PREDICTORS, calibration_paths
from maskwork.core.models.results import InstanceResult
from maskwork.gui.panels import last_run, model_jobs, model_list
from maskwork.gui.panels.class_fit import ClassFitBar
from maskwork.gui.panels.elided_label import ElidedLabel
from maskwork.gui.panels.job_bar import JobBar
from maskwork.gui.panels.refine_choice import RefineChoice
from maskwork.gui.state import AppState
from maskwork.gui.workers import Job

INT8_NOTES = ("building the int8 model", "int8 model ready")  # info lines about one model's int8
INT8_TIP = "Run the int8-quantized model: faster on CPU, slightly different masks. The first use builds and caches it."
MAX_KEPT_RESULTS = 500  # instance results kept per image for instant re-thresholding (masks are cropped)


class ModelPanel(QWidget):
    def __init__(self, state: AppState, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.entries: dict[str, model_jobs.ModelEntry] = {}
        self._results: dict[str, InstanceResult] = {}  # image name -> result kept for re-thresholding
        self._pending = None                   # what to run once the predictor is ready
        self.done_names: list[str] = []        # images segmented by the current/last "run on all"
        self._int8_model: str | None = None    # the model state.int8 was chosen for

        self.combo = QComboBox()
        self.combo.setToolTip("Model to run")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(16)
        self.model_info = ElidedLabel("", "Task and weights: cached/bundled = on this computer; needs download = "
                                          "fetched on first use (internet needed)")
        self.combo.currentIndexChanged.connect(self._on_model_picked)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Re-read the model list (after training or adding a checkpoint)")
        self.refresh_button.clicked.connect(self.refresh_models)
        self.int8_box = QCheckBox("int8 (quantized)")
        self.int8_box.setToolTip(INT8_TIP)
        self.int8_box.toggled.connect(self._on_int8)
        self.run_button = QPushButton("Run on image")
        self.run_button.setToolTip("Segment the current image (Ctrl+R)")
        self.run_button.setShortcut("Ctrl+R")
        self.run_button.clicked.connect(self.run_current)
        self.run_all_button = QPushButton("Run on all images")
        self.run_all_button.setToolTip("Segment every image of the project; corrections are kept (Ctrl+Shift+R)")
        self.run_all_button.setShortcut("Ctrl+Shift+R")
        self.run_all_button.clicked.connect(self.run_all)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(round(state.score_threshold * 100))
        self.slider.setToolTip("Hide detections under this score (instance models); instant, no re-run")
        self.slider.valueChanged.connect(self._on_threshold)
        self.threshold_label = QLabel()
        self.refine_box = RefineChoice(lambda method: self._set_project_setting("refine", method))
        self.latency_label = QLabel(last_run.NO_IMAGE)
        self.latency_label.setToolTip("What made the prediction of the image on screen: its time, float or int8, "
                                      "and the model (kept with the project)")
        self.info_label = QLabel("")
        self.info_label.setWordWrap(True)
        self.jobs = JobBar()
        self.jobs.busy_changed.connect(self._update_enabled)
        self.fit_bar = ClassFitBar(state)  # the model's task or classes vs the project's, before any run

        top = QHBoxLayout()
        top.addWidget(self.combo, 1)
        top.addWidget(self.refresh_button)
        thr = QHBoxLayout()
        thr.addWidget(self.slider, 1)
        thr.addWidget(self.threshold_label)
        runs = QHBoxLayout()
        runs.addWidget(self.run_button)
        runs.addWidget(self.run_all_button)
        form = QFormLayout()
        form.addRow("Model", top)
        form.addRow("", self.model_info)
        form.addRow("", self.int8_box)
        form.addRow("Score threshold", thr)
        self.form, self.threshold_row = form, form.rowCount() - 1
        form.addRow("Refine", self.refine_box)
        form.addRow("Last run", self.latency_label)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.fit_bar)
        layout.addLayout(runs)
        layout.addWidget(self.jobs)
        layout.addWidget(self.info_label)
        layout.addStretch(1)
        # what the panel holds has a natural height: room left over goes to the Objects and IoU lists
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

        state.image_changed.connect(self._on_image_changed)
        state.project_changed.connect(self._on_project_changed)
        state.model_changed.connect(self._sync_from_state)
        state.predict_requested.connect(self.run_on)
        self._after_list: Callable[[], None] | None = None  # a run asked for while the model list was being read
        state.classes_changed.connect(lambda: self.fit_bar.refresh(self.entries.get(self.combo.currentData())))
        self._show_threshold()
        self._show_threshold_row(None)  # until the list says the model is an instance model
        self._update_enabled()
        self.refresh_models()

    # ---- model list -------------------------------------------------------------------
    def refresh_models(self) -> None:
        if self.jobs.busy:
            return
        self.info_label.setText("reading the model list...")
        self.jobs.run(Job(model_jobs.list_models_and_skipped), self._on_models, on_fail=self._show_info)

    def _on_models(self, listed) -> None:
        entries, skipped = listed
        self.entries = {e.name: e for e in entries}
        wanted = self.state.model_name or self._project_setting("model")
        self.combo.blockSignals(True)
        self.combo.clear()
        for e in entries:  # models that need a download are marked (model_list.item_text)
            self.combo.addItem(model_list.item_text(e), e.name)
            self.combo.setItemData(self.combo.count() - 1, model_list.item_tooltip(e), Qt.ItemDataRole.ToolTipRole)
        index = max(self.combo.findData(wanted), 0) if wanted else self._default_index(entries)
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        self.info_label.setText(plural(len(entries), "model"))
        if skipped:  # a damaged entry of models.json: said, not silently dropped (the others stay usable)
            damaged = plural(len(skipped), "damaged entry", "damaged entries")
            self.info_label.setText(f"{plural(len(entries), 'model')}; {damaged} of your models.json left out "
                                    "(hover here for why and what to do)")
            self.info_label.setToolTip("\n".join(skipped))
        self._on_model_picked()
        then, self._after_list = self._after_list, None
        if then is not None:
            then()

    def _default_index(self, entries) -> int:
        """The bundled model fitting the project's task and classes, else a local one of the task."""
        project = self.state.project
        if project is None:
            return model_list.default_index(entries, None, None)
        return model_list.default_index(entries, project.task, project.classes)

    def select_model(self, name: str) -> None:
        index = self.combo.findData(name)
        if index < 0:
            raise KeyError(f"model {name!r} is not in the list; refresh it after adding a checkpoint")
        self.combo.setCurrentIndex(index)
        self._on_model_picked()

    def _on_model_picked(self, *_):
        name = self.combo.currentData()
        changed = False
        if name and name != self._int8_model:  # int8 is chosen per model: another model starts in float
            self._int8_model, changed = name, self.state.int8
            self.state.int8 = False
            if self.info_label.text().startswith(INT8_NOTES):
                self.info_label.setText("")
        if name and name != self.state.model_name:
            self.state.model_name, changed = name, True
            self._set_project_setting("model", name)
        if changed:
            self.state.model_changed.emit()
        entry = self.entries.get(name)
        if entry is not None:
            self.model_info.setText(f"{entry.task}, weights {entry.state}"
                                    + (f": {entry.description}" if entry.description else ""))
        self.fit_bar.refresh(entry)
        self._show_threshold_row(entry)
        self._show_int8()

    def _int8_support(self):
        entry = self.entries.get(self.combo.currentData())
        return None if entry is None else entry.int8  # core.models.int8.dispatch.Int8Support

    def _key(self) -> tuple[str | None, bool]:
        """(model, int8) as it will run: an int8 file runs in int8, a model without int8 in float."""
        support = self._int8_support()
        if support is None:
            return self.state.model_name, self.state.int8
        return self.state.model_name, support.mode == "only" or (self.state.int8 and support.switchable)

    def _show_int8(self) -> None:
        """The toggle shows what runs; it is disabled, with the reason as its tooltip, when it cannot switch."""
        support = self._int8_support()
        self.int8_box.blockSignals(True)
        self.int8_box.setChecked(self._key()[1])
        self.int8_box.blockSignals(False)
        self.int8_box.setToolTip(support.reason if support is not None else INT8_TIP)
        self._update_enabled()

    def _sync_from_state(self) -> None:
        """Another view (e.g. the train dialog) picked a model: show it, refreshing the list if new."""
        name = self.state.model_name
        if name and name != self.combo.currentData():
            index = self.combo.findData(name)
            if index >= 0:
                self.combo.setCurrentIndex(index)
            elif not self.jobs.busy:
                self.refresh_models()
        if self.int8_box.isChecked() != self._key()[1]:
            self._show_int8()

    # ---- running ----------------------------------------------------------------------
    def run_current(self) -> None:
        if self.state.image is None or self.state.annotation is None:
            self._show_info("Open an image first.")
            return
        self._with_predictor(self._start_current)

    def run_all(self) -> None:
        if self.state.project is None:
            self._show_info("Open a project or folder first.")
            return
        self._with_predictor(self._start_all)

    def run_on(self, names: list) -> None:
        """Run the model in use on these images (the train dialog's 'pre-label the images not reviewed')."""
        if self.jobs.busy and self._after_list is None:  # e.g. the list is being refreshed for a new model
            self._after_list = lambda: self.run_on(names)
            return
        if self.state.project is not None and names:
            self._with_predictor(lambda predictor: self._start_all(predictor, list(names)))

    def _with_predictor(self, then) -> None:
        """Run `then(predictor)`, loading the predictor in a Job first if needed."""
        model, int8 = self._key()
        if model is None:
            self._show_info("Pick a model first.")
            return
        if self.jobs.busy:
            self._show_info("Wait for the running job to end, or cancel it.")
            return
        loaded = PREDICTORS.get(model, int8)
        if loaded is not None:
            then(loaded)
            return
        self._pending = then
        self.jobs.run(Job(PREDICTORS.load, model, int8, calibration_paths(self.state.project)), self._on_predictor,
                      on_cancel=self._clear_pending, on_fail=lambda _m: self._clear_pending())

    def _on_predictor(self, predictor) -> None:
        then, self._pending = self._pending, None
        if then is not None:
            then(predictor)

    def _clear_pending(self) -> None:
        self._pending = None

    def _start_current(self, predictor) -> None:
        name, rgb = self.state.current_name, self.state.image
        if name is None or rgb is None:  # run_current asked with an image open
            return
        self.jobs.run(Job(model_jobs.predict_one, predictor, rgb, self.state.score_threshold,
                          self.refine_box.choice()), lambda result: self._apply(name, result))

    def _start_all(self, predictor, names: list | None = None) -> None:
        project = self.state.project
        if project is None:  # run_all and run_on asked with a project open
            return
        names = list(project.image_names()) if names is None else names
        self.done_names = []
        paths, refine = [project.image_path(n) for n in names], self.refine_box.choice()
        job = Job(model_jobs.predict_many, predictor, paths, names, self.state.score_threshold, refine)
        job.kwargs["on_item"] = job.signals.item.emit  # results come back to the GUI thread one by one
        self.jobs.run(job, self._on_batch_done, on_cancel=lambda: self._on_batch_cancelled(len(names)),
                      on_item=lambda item: self._apply(*item))

    def _on_batch_cancelled(self, total: int) -> None:
        self._show_info(f"stopped: {len(self.done_names)} of {plural(total, 'image')} segmented (kept)")
        self.state.annotations_changed.emit(list(self.done_names))

    def _on_batch_done(self, outcome) -> None:
        self.state.annotations_changed.emit(list(self.done_names))  # e.g. the image list refreshes states
        text = f"{plural(outcome.done, 'image')} segmented"
        if outcome.errors:
            listed = "\n".join(m for _p, m in outcome.errors[:5])
            text += f"; {plural(len(outcome.errors), 'image')} could not be read:\n" + listed
        self._show_info(text)

    def _apply(self, name: str, result) -> None:
        """Store a result as the prediction layer of image `name` (GUI thread)."""
        project, model = self.state.project, self.state.model_name
        is_current = name == self.state.current_name
        if model is None:  # a result comes from the model picked (a model name is never taken back)
            return
        try:
            ann = self.state.annotation if is_current else None if project is None else project.annotation(name)
            if ann is None:  # its image or project closed meanwhile
                return
            if project is not None:  # project class ids and task; unmatched classes as chosen
                result, added = for_project(result, project, self.fit_bar.choice(self.state.model_name))
                if added:
                    self.state.classes_changed.emit()
            store_prediction(ann, result, model, self._key()[1], self.state.score_threshold)
        except MaskworkError as exc:  # e.g. the image changed on disk: say so, keep going with the others
            self._show_info(str(exc))
            return
        if project is not None:
            project.mark_dirty(name)
        self.done_names.append(name)
        self._keep(name, result)
        key_model, key_int8 = self._key()
        loaded = PREDICTORS.get(key_model, key_int8) if key_model is not None else None
        int8 = key_int8 or (loaded is not None and loaded.int8)
        self.latency_label.setText(f"{result.latency_ms:.0f} ms ({'int8' if int8 else 'float'}, "
                                   f"{self.state.model_name})")
        if is_current:
            self.state.last_result = result
            self.state.prediction_changed.emit()
        self.state.status_message.emit(f"{name}: predicted in {result.latency_ms:.0f} ms")

    def _keep(self, name: str, result) -> None:
        if isinstance(result, InstanceResult):
            if len(self._results) >= MAX_KEPT_RESULTS:
                self._results.pop(next(iter(self._results)))
            self._results[name] = result

    # ---- threshold and int8 -----------------------------------------------------------
    def _on_threshold(self, value: int) -> None:
        self.state.score_threshold = value / 100.0
        self._set_project_setting("score_threshold", self.state.score_threshold)
        self._show_threshold()
        result, ann = self.state.last_result, self.state.annotation
        if ann is not None and result is not None and refilter(ann, result, self.state.score_threshold):
            if self.state.project is not None and self.state.current_name:
                self.state.project.mark_dirty(self.state.current_name)
            self.state.prediction_changed.emit()
        self.state.model_changed.emit()

    def _show_threshold(self) -> None:
        self.threshold_label.setText(f"{self.state.score_threshold:.2f}")

    def _show_threshold_row(self, entry) -> None:
        """The score threshold only filters instances: hidden for a semantic model."""
        self.form.setRowVisible(self.threshold_row, entry is not None and entry.task == "instance")

    def _on_int8(self, checked: bool) -> None:
        self.state.int8 = bool(checked)
        self.state.model_changed.emit()
        model, int8 = self._key()
        if checked and model and PREDICTORS.get(model, int8) is None and not self.jobs.busy:
            self.info_label.setText("building the int8 model (first time only)...")
            self._with_predictor(lambda _p: self.info_label.setText("int8 model ready"))

    # ---- state changes ----------------------------------------------------------------
    def _on_image_changed(self, name: str) -> None:
        self.state.last_result = self._results.get(name)
        self.latency_label.setText(last_run.describe(self.state.annotation))  # this image's, not the last project's
        self._update_enabled()

    def _on_project_changed(self) -> None:
        """A project remembers its model and threshold (project.settings)."""
        self._results.clear()
        self.state.last_result = None  # before the slider moves: nothing of the old project is re-filtered
        threshold = self._project_setting("score_threshold")
        if isinstance(threshold, (int, float)) and round(threshold * 100) != self.slider.value():
            self.slider.setValue(round(threshold * 100))
        self.refine_box.set_method(self._project_setting("refine") or "none")
        name = self._project_setting("model")
        if name and self.combo.findData(name) >= 0:
            self.combo.setCurrentIndex(self.combo.findData(name))
        self.fit_bar.refresh(self.entries.get(self.combo.currentData()))
        self.latency_label.setText(last_run.describe(self.state.annotation))
        self._update_enabled()

    def _update_enabled(self, *_):
        busy = self.jobs.busy
        has_model = self.combo.currentData() is not None
        self.run_button.setEnabled(not busy and has_model and self.state.image is not None)
        has_images = self.state.project is not None and bool(self.state.project.image_names())
        self.run_all_button.setEnabled(not busy and has_model and has_images)
        self.combo.setEnabled(not busy)
        self.refine_box.setEnabled(not busy)
        support = self._int8_support()
        self.int8_box.setEnabled(not busy and (support is None or support.switchable))
        self.refresh_button.setEnabled(not busy)

    def _show_info(self, text: str) -> None:
        self.info_label.setText(text)
        self.state.status_message.emit(text.splitlines()[0] if text else "")

    def _project_setting(self, key: str):
        project = self.state.project
        return None if project is None else project.settings.get(key)

    def _set_project_setting(self, key: str, value) -> None:
        if self.state.project is not None:
            self.state.project.settings[key] = value
