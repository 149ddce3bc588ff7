"""'Train on corrected images': architecture, epochs, validation share; trains in a Job with live curves.

It starts from a model that knows the project's classes, or from random weights with a note on what to
expect (project_run.default_start / start_note). The settings are core.training.schedule's (the CLI's too); the
dialog holds out some corrected images (the same ones every run, listed), the start model is scored on them before
training and a fine-tuned epoch is kept only when it beats it. At the end the dialog shows before / after and
offers to keep or discard the new model (a kept one is registered, core.models.catalog.user_models.register_checkpoint);
a kept model can pre-label the images not reviewed yet with one click (AppState.predict_requested).
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from maskwork.core.domain.errors import MaskworkError
from maskwork.core.domain.text import plural
from maskwork.core.training import project_run
from maskwork.core.training.datasets import held_out_names
from maskwork.core.training.schedule import GUARD, expected_gain, replay_source, suggest
from maskwork.gui.panels.job_bar import JobBar
from maskwork.gui.state import AppState
from maskwork.gui.widgets.plot import LineChart
from maskwork.gui.workers import Job

METRIC_NAMES = {"miou": "mean IoU", "ap": "mask AP"}


def metric_name(key: object) -> str:
    """How a training record's metric ("miou", "ap") reads; "metric" when the record names none."""
    return METRIC_NAMES.get(key, key) if isinstance(key, str) else "metric"


class TrainDialog(QDialog):
    def __init__(self, state: AppState, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train on corrected images - Maskwork")
        self.resize(900, 640)
        self.state = state
        self.outcome = None           # project_run.TrainOutcome once training ended
        self.new_model: str | None = None
        self.start_name: str | None = None  # the model the last run started from (None: from scratch)
        self.epochs_seen: list[dict] = []
        self.n_corrected = 0
        self.corrected: list[str] = []
        self._builtin: set[str] = set()

        self.arch = QComboBox()
        self.arch.setToolTip("Network to train. Light ones train in minutes on a CPU.")
        self.start_from = QComboBox()
        self.start_from.setToolTip("Start from scratch or from a model's weights (heads are replaced when "
                                   "the classes differ); picking a model picks its architecture")
        self.start_from.currentIndexChanged.connect(self._follow_start_model)
        self.start_from.currentIndexChanged.connect(self._apply_schedule)
        self._arch_of: dict = {}
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(10)
        self.epochs.setToolTip("Epochs: the validation images are measured and the best model kept after each")
        self.steps = QSpinBox()
        self.steps.setRange(1, 100_000)
        self.steps.setValue(25)
        self.steps.setToolTip("Batches of random crops per epoch (at least one pass over the training images)")
        self.schedule_note = QLabel("")
        self.schedule_note.setWordWrap(True)
        self._schedule = suggest(getattr(state.project, "task", "semantic"), True)
        self.val_share = QDoubleSpinBox()
        self.val_share.setRange(0.05, 0.5)
        self.val_share.setSingleStep(0.05)
        self.val_share.setValue(0.2)
        self.val_share.setToolTip("Share of the corrected images held out to measure the start model and the "
                                  "model after each epoch (the same images every run)")
        self.val_share.valueChanged.connect(self._show_held_out)
        self.held_out = QLabel("")
        self.held_out.setWordWrap(True)
        self.gain_note = QLabel("")
        self.gain_note.setWordWrap(True)
        self.crop = QSpinBox()
        self.crop.setRange(128, 1024)  # validation tiles overlap by 64 px: smaller tiles cannot work
        self.crop.setSingleStep(32)
        self.crop.setValue(256)
        self.crop.setSuffix(" px")
        self.crop.setToolTip("Size of the training crops (semantic models also predict in tiles of this size)")
        self.out_name = QLineEdit()
        self.out_name.setToolTip("Name of the new model (its checkpoint goes to the project's .maskwork/models/)")
        self.available = QLabel("")
        self.start_button = QPushButton("Start training")
        self.start_button.clicked.connect(self.start)
        self.switch_button = QPushButton("Use the new model")
        self.switch_button.setToolTip("Select the trained model in the model panel")
        self.switch_button.setEnabled(False)
        self.switch_button.clicked.connect(self.switch_to_new_model)
        self.keep_button = QPushButton("Keep this model")
        self.keep_button.setToolTip("Add the new model (its best epoch) to your models")
        self.keep_button.clicked.connect(self.keep_new_model)
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Delete the run's checkpoint; nothing is added to your models")
        self.prelabel_button = QPushButton("Pre-label the images not reviewed")
        self.prelabel_button.setToolTip("Use the new model and run it on every image not marked reviewed")
        self.prelabel_button.setEnabled(False)
        self.prelabel_button.clicked.connect(self.prelabel_unreviewed)
        self.discard_button.clicked.connect(self.discard_new_model)
        self.compare_button = QPushButton("Compare with the start model")
        self.compare_button.setToolTip("The start model against the new one on every image of the project (Dataset "
                                       "tab, Two models): which images got better, which worse")
        self.compare_button.setEnabled(False)
        self.compare_button.clicked.connect(self.compare_with_start)
        self.start_note = QLabel("")
        self.start_note.setWordWrap(True)
        self._classes_of: dict = {}  # model name -> its class names (project_run.choices)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        self.jobs = JobBar()
        self.jobs.busy_changed.connect(self._on_busy)
        self.loss_chart = LineChart("Loss", "epoch")
        self.metric_chart = LineChart("Validation", "epoch", y_range=(0.0, 1.0))
        self.status = QLabel("")
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Architecture", self.arch)
        form.addRow("Start from", self.start_from)
        form.addRow("", self.start_note)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batches per epoch", self.steps)
        form.addRow("", self.schedule_note)
        form.addRow("Validation share", self.val_share)
        form.addRow("Held out", self.held_out)
        form.addRow("", self.gain_note)
        form.addRow("Crop size", self.crop)
        form.addRow("New model name", self.out_name)
        form.addRow("Training images", self.available)
        charts = QHBoxLayout()
        charts.addWidget(self.loss_chart)
        charts.addWidget(self.metric_chart)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addStretch(1)
        buttons.addWidget(self.keep_button)
        buttons.addWidget(self.discard_button)
        buttons.addWidget(self.switch_button)
        buttons.addWidget(self.prelabel_button)
        buttons.addWidget(self.compare_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.jobs)
        layout.addLayout(charts, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self._show_keep(False)
        self._fill_defaults()

    # ---- set-up -----------------------------------------------------------------------
    def _fill_defaults(self) -> None:
        project = self.state.project
        task = getattr(project, "task", "semantic")
        stamp = time.strftime("%Y%m%d-%H%M")
        folder = Path(getattr(project, "root", ".")).name or "project"
        self.out_name.setText(f"{folder}-{task}-{stamp}")
        self.corrected = project_run.corrected_names(project) if project is not None else []
        n = self.n_corrected = len(self.corrected)
        self.available.setText(plural(n, "corrected image") if n else "none yet: correct some images first")
        self.start_button.setEnabled(False)
        self.status.setText("reading the architectures...")
        self.jobs.run(Job(project_run.choices, task), self._on_choices)

    def _on_choices(self, choices) -> None:
        archs, models = choices
        self.arch.clear()
        for name, description in archs:
            self.arch.addItem(f"{name} - {description}", name)
        self.start_from.clear()
        self.start_from.addItem("scratch (random weights)", None)
        self._arch_of = {}
        self._builtin = {name for name, init, _arch, _classes in models if name == init}
        for name, init, arch, classes in models:
            self.start_from.addItem(name, init)
            self._arch_of[init] = arch
            self._classes_of[name] = classes
        # start from the model in use when it knows the project's classes, else the one that knows most
        start = project_run.default_start(models, getattr(self.state.project, "classes", None), self.state.model_name)
        self.start_from.setCurrentIndex(max(self.start_from.findText(start), 0) if start else 0)
        self._follow_start_model()
        self._apply_schedule()
        self.status.setText("")
        self._on_busy(False)

    def _follow_start_model(self, *_):
        """Weights only load into their own architecture: select it."""
        arch = self._arch_of.get(self.start_from.currentData())
        index = self.arch.findData(arch) if arch else -1
        if index >= 0:
            self.arch.setCurrentIndex(index)

    def _apply_schedule(self, *_):
        """A fine-tune from a model is short and gentle, a run from random weights longer (core.training.schedule)."""
        task = getattr(self.state.project, "task", "semantic")
        self._schedule = suggest(task, self.start_from.currentData() is not None)
        train_images = max(1, round(self.n_corrected * (1 - self.val_share.value())))
        self.epochs.setValue(self._schedule.epochs)
        self.crop.setValue(self._schedule.crop)
        self.steps.setValue(self._schedule.steps_per_epoch(train_images, self._schedule.batch_size))
        name = self.start_from.currentText() if self.start_from.currentData() is not None else None
        self.start_note.setText(project_run.start_note(name, self._classes_of.get(name, set()),
                                                      getattr(self.state.project, "classes", None)))
        kind = "fine-tuning" if self.start_from.currentData() is not None else "from random weights"
        replay = replay_source(self.start_from.currentData()) if self._schedule.replay_share > 0 else None
        guard = replay_source(self.start_from.currentData(), GUARD) if self._schedule.guard else None
        self.schedule_note.setText(f"Suggested for {kind}: "
                                   + self._schedule.describe(train_images, self._schedule.batch_size)
                                   + (f"; {self._schedule.replay_share:.0%} of the crops from images {name} was "
                                      "trained on, so it keeps what it knew" if replay is not None else "")
                                   + ("; an epoch is kept only if it does not fall on other images it was trained "
                                      "on" if guard is not None else ""))
        self.gain_note.setText(expected_gain(task, self.n_corrected) if name is not None else "")
        self._show_held_out()

    def _show_held_out(self, *_):
        held = self.held_out_names()
        self.held_out.setText(f"{plural(len(held), 'corrected image')} scored before and after training: "
                              + ", ".join(held[:6]) + (", ..." if len(held) > 6 else "") if held else
                              "at least 2 corrected images are needed: one to train on, one to score")

    def held_out_names(self) -> list[str]:
        """The corrected images scored before and after training: chosen by the dialog, the same every run."""
        return held_out_names(self.corrected, self.val_share.value())

    # ---- training ---------------------------------------------------------------------
    def start(self) -> None:
        project = self.state.project
        if project is None or self.jobs.busy:
            return
        if project.dirty:
            try:
                project.save()  # training reads the saved corrections; save them first
            except MaskworkError as exc:
                self.status.setText(f"Cannot start: {exc}")
                return
        name = project_run.safe_name(self.out_name.text())
        if name in self._builtin:
            self.status.setText(f"'{name}' is a built-in model; give the new model another name.")
            return
        name = project_run.free_name(Path(project.root), name)  # never over a model kept before (same minute)
        self.out_name.setText(name)
        self.loss_chart.clear()
        self.metric_chart.clear()
        self.epochs_seen.clear()
        self._show_keep(False)
        request = project_run.TrainRequest(
            project_root=Path(project.root), arch=self.arch.currentData(), epochs=self.epochs.value(),
            val_share=self.val_share.value(), name=name, start_from=self.start_from.currentData(),
            crop=self.crop.value(), steps_per_epoch=self.steps.value(), lr=self._schedule.lr,
            warmup_steps=self._schedule.warmup_steps, val_names=self.held_out_names() or None)
        self.start_name = self.start_from.currentText() if request.start_from is not None else None
        self.request = request
        job = Job(project_run.run_training, request)
        job.kwargs["on_epoch"] = job.signals.item.emit  # per-epoch records come back on the GUI thread
        self.status.setText("training...")
        self.jobs.run(job, self._on_done, on_cancel=self._on_cancelled, on_item=self.add_epoch)

    def add_epoch(self, record: dict) -> None:
        """Plot one epoch record of core.training.loop.train: train_loss and the validation metric."""
        self.epochs_seen.append(record)
        epoch = record["epoch"]
        metric = metric_name(record.get("metric"))
        self.metric_chart.add_point(f"validation {metric}", epoch, record.get("value"))
        if record.get("baseline"):  # epoch 0: the start model, the score to beat
            self.status.setText(f"the start model scores {metric} {record['value']:.3f} on the held-out images; "
                                "training...")
            return
        self.loss_chart.add_point("train loss", epoch, record.get("train_loss"))
        best = " (best so far)" if record.get("best") else ""
        if record.get("guarded"):  # better on the held-out images, worse on the start model's guard images
            start = next((r.get("guard") for r in self.epochs_seen if r.get("baseline")), None)
            was = f"from {start:.3f} " if start is not None else ""
            best = (f" (not kept: its {metric} on other images the start model was trained on fell {was}to "
                    f"{record['guard']:.3f})")
        self.status.setText(f"epoch {epoch}: loss {record.get('train_loss', float('nan')):.4f}, "
                            f"{metric} {record.get('value', float('nan')):.3f}{best}")

    def _on_cancelled(self) -> None:
        """Nothing is added to the models unless the user keeps the best finished epoch."""
        trained = [r for r in self.epochs_seen if not r.get("baseline")]
        saved = self.request.out.is_file() and any(r.get("best") for r in trained)
        self._show_keep(saved)
        if not saved:
            project_run.discard_model(self.request)  # at most the start model's copy: nothing to keep
            self.status.setText("Training cancelled. No epoch had finished" + (" or beat the start model" if trained
                                                                               else "") + ", nothing was saved.")
            return
        best = max((r for r in trained if r.get("best") and r.get("value") is not None), key=lambda r: r["value"],
                   default=None)
        score = (f" ({metric_name(best.get('metric'))} {best['value']:.3f})"
                 if best is not None else "")
        self.status.setText(f"Training cancelled. The best finished epoch{score} is not among your models: keep "
                            f"it as model '{self.request.name}', or discard it.")

    def _show_keep(self, on: bool) -> None:
        self.keep_button.setVisible(on)
        self.discard_button.setVisible(on)

    def keep_new_model(self) -> None:
        self._show_keep(False)
        self.jobs.run(Job(project_run.keep_model, self.request), self._kept,
                      on_fail=lambda _msg: self._show_keep(True))

    def _kept(self, name: str) -> None:
        self.new_model = name
        self.switch_button.setEnabled(True)
        self.compare_button.setEnabled(bool(self.start_name))
        self._update_prelabel()
        self.status.setText(f"Kept as model '{name}'.")

    def discard_new_model(self) -> None:
        self._show_keep(False)
        try:
            project_run.discard_model(self.request)
        except OSError as exc:
            self.status.setText(f"Cannot delete {self.request.out}: {exc.strerror or exc}; delete it by hand.")
            return
        self.status.setText("Discarded: nothing was added to your models.")

    def _on_done(self, outcome) -> None:
        self.outcome = outcome
        metric = METRIC_NAMES.get(outcome.metric, outcome.metric)
        if outcome.epochs_done == 0:
            self.status.setText("No epoch finished, so no model was saved.")
            return
        text = outcome.before_after(metric, self.start_name)
        self._show_keep(outcome.saved)
        if outcome.saved:
            text += f" Keep it as model '{self.request.name}', or discard it."
        self.status.setText(text)

    def switch_to_new_model(self) -> None:
        if self.new_model:
            self.state.model_name = self.new_model
            self.state.model_changed.emit()
            self.state.status_message.emit(f"model switched to {self.new_model}")

    def _update_prelabel(self) -> None:
        names = project_run.not_reviewed(self.state.project) if self.state.project is not None else []
        self.prelabel_button.setText(f"Pre-label the {plural(len(names), 'image')} not reviewed")
        self.prelabel_button.setEnabled(bool(self.new_model and names))

    def prelabel_unreviewed(self) -> None:
        """One click: the new model becomes the one in use and runs on every image not reviewed yet."""
        if not self.new_model or self.state.project is None:
            return
        names = project_run.not_reviewed(self.state.project)
        self.switch_to_new_model()
        self.state.predict_requested.emit(names)
        self.status.setText(f"Pre-labelling {plural(len(names), 'image')} with '{self.new_model}' (Model panel).")

    def compare_with_start(self) -> None:
        """Before/after over the whole project, not only the held-out images (gui/panels/model_comparison.py)."""
        if self.new_model and self.start_name:
            self.state.request_comparison(self.start_name, self.new_model)
            self.status.setText(f"Comparing '{self.start_name}' with '{self.new_model}' on every image (Dataset tab).")

    def _on_busy(self, busy: bool) -> None:
        self.start_button.setEnabled(not busy and self.arch.count() > 0 and self.n_corrected > 0)
        for w in (self.arch, self.start_from, self.epochs, self.steps, self.val_share, self.crop, self.out_name):
            w.setEnabled(not busy)

    def closeEvent(self, event) -> None:
        if self.jobs.busy:
            self.jobs.cancel()  # stop the worker; it saves nothing partial
        super().closeEvent(event)
