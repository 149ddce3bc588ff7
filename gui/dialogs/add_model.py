"""Model > Add model file…: register a Maskwork checkpoint or an ONNX file (core does the work).

A YOLO-seg or Maskwork ONNX export describes itself; a generic semantic net asks for its class names,
how to size the image and its normalisation. Anything core refuses is shown in one sentence and
nothing is registered. On success the new model becomes the current one (the model panel follows).
Registering opens and test-runs the file (seconds): it runs in a worker behind a busy bar. A file that is
already one of the user's models (same path or same bytes) is not added again without asking: the dialog
offers the existing entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from maskwork.core.domain.errors import InputError, MaskworkError
from maskwork.gui.dialogs import messages
from maskwork.gui.workers import Job, start

FILTER = "Models (*.onnx *.pt *.pth);;ONNX (*.onnx);;Maskwork checkpoints (*.pt *.pth)"


@dataclass
class AlreadyRegistered:
    name: str  # the user's model that holds this file


def register_file(path: str, name: str | None, user: dict | None, allow_same: bool = False,
                  progress=None, cancel=None):
    """The worker's part: the spec of the registered file, or AlreadyRegistered (nothing written)."""
    from maskwork.core.models.catalog.model_files import registered_as

    if progress is not None:
        progress(0, 0, "checking the file")
    existing = None if allow_same else registered_as(path, name or Path(path).stem)
    if existing is not None:
        return AlreadyRegistered(existing)
    try:
        if Path(path).suffix.lower() == ".onnx":
            from maskwork.core.models.onnx_models.register import register_onnx

            return register_onnx(path, name=name, user=user)
        from maskwork.core.models.catalog.user_models import register_checkpoint

        return register_checkpoint(path, name=name)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}; check the path and that the file is "
                         "readable.") from exc


class AddModelDialog(QDialog):
    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.setWindowTitle("Add model file")
        self.path = QLineEdit()
        self.path.setPlaceholderText("an .onnx file or a Maskwork .pt checkpoint")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.path)
        row.addWidget(browse)
        self.name = QLineEdit()
        self.name.setPlaceholderText("default: the file name")
        self.about = QLabel("")
        self.about.setWordWrap(True)
        # only for semantic ONNX nets without metadata
        self.classes = QLineEdit()
        self.classes.setToolTip("Class names in the order of the model's output channels, comma separated")
        self.resize_px = QSpinBox()
        self.resize_px.setRange(0, 8192)
        self.resize_px.setSpecialValueText("file's size / 512")
        self.resize_px.setToolTip("Scale the shorter image side to this many pixels (ignored when the file fixes "
                                  "its input size)")
        self.mean = QLineEdit("0.485, 0.456, 0.406")
        self.std = QLineEdit("0.229, 0.224, 0.225")
        for w in (self.mean, self.std):
            w.setToolTip("Per channel R, G, B on pixels scaled to 0..1: input = (pixel - mean) / std")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.register)
        self.buttons.rejected.connect(self.reject)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setFormat("opening the file and running it once on a test image…")
        self.busy.setTextVisible(True)
        self.busy.setVisible(False)
        self.use_existing = QPushButton("")
        self.use_existing.setVisible(False)
        self.use_existing.clicked.connect(self._use_existing)
        self.add_again = QCheckBox("Add it again under the name above")
        self.add_again.setToolTip("Two entries for one file: only useful with other class names or input settings")
        self.add_again.setVisible(False)
        self.existing: str | None = None
        self.job: Job | None = None
        form = QFormLayout(self)
        holder = QWidget()
        holder.setLayout(row)
        form.addRow("File", holder)
        form.addRow("Name", self.name)
        form.addRow("", self.about)
        self.semantic_rows = [("Class names", self.classes), ("Shorter side (px)", self.resize_px),
                              ("Mean", self.mean), ("Std", self.std)]
        for label, widget in self.semantic_rows:
            form.addRow(label, widget)
        again = QHBoxLayout()
        again.addWidget(self.use_existing)
        again.addWidget(self.add_again, 1)
        form.addRow("", again)
        form.addRow(self.busy)
        form.addRow(self.buttons)
        self.form = form
        self.path.editingFinished.connect(self.inspect)
        self._show_semantic(False)
        self.spec = None

    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model file", "", FILTER)
        if path:
            self.path.setText(path)
            self.inspect()

    def _show_semantic(self, on: bool) -> None:
        for _, widget in self.semantic_rows:
            self.form.setRowVisible(widget, on)

    def _user(self) -> dict:
        from maskwork.core.models.onnx_models.register import user_input

        return user_input(self.classes.text(), self.resize_px.value() or None, None,
                          self.mean.text().replace(" ", ""), self.std.text().replace(" ", ""))

    def inspect(self) -> None:
        """Say what the file is; open the semantic fields when it needs a description."""
        path = Path(self.path.text().strip())
        if not path.name:
            return
        if not self.name.text():
            self.name.setPlaceholderText(path.stem)
        if path.suffix.lower() != ".onnx":
            self.about.setText("Maskwork checkpoint: it describes its architecture and classes.")
            self._show_semantic(False)
            return
        from maskwork.core.models.onnx_models.register import describe_file

        try:
            rec, _ = describe_file(path, self._user() if self.classes.text().strip() else None)
        except MaskworkError as exc:
            needs = "class names" in str(exc)
            self.about.setText(str(exc))
            self._show_semantic(needs)
            return
        kind = rec.layout.kind + (", int8" if rec.layout.int8 else "")
        names = [c.name for c in rec.classes if c.id != 0 or rec.task == "semantic"]
        self.about.setText(f"{rec.task} model ({kind}), {len(names)} classes: {', '.join(names[:6])}"
                           f"{' …' if len(names) > 6 else ''}")
        self._show_semantic(rec.layout.kind == "semantic")

    def register(self) -> Job | None:
        """OK: register in a worker (opening and test-running a file takes seconds); the dialog shows it is busy."""
        if self.job is not None:
            return None
        path = self.path.text().strip()
        user = self._user() if self.classes.text().strip() else None
        job = Job(register_file, path, self.name.text().strip() or None, user, self.add_again.isChecked())
        job.signals.finished.connect(self._registered)
        job.signals.failed.connect(self._failed)
        job.signals.cancelled.connect(lambda: self._set_busy(False))
        self.job = job
        self._set_busy(True)
        return start(job)

    def _set_busy(self, busy: bool) -> None:
        if not busy:
            self.job = None
        self.busy.setVisible(busy)
        for widget in (self.buttons, self.path, self.name, self.classes, self.use_existing, self.add_again):
            widget.setEnabled(not busy)

    def _registered(self, outcome) -> None:
        self._set_busy(False)
        if isinstance(outcome, AlreadyRegistered):
            self.existing = outcome.name
            self.about.setText(f"This file is already in your models as '{outcome.name}' (same file). Use that "
                               "entry, or tick the box to add it again under the name above.")
            self.use_existing.setText(f"Use '{outcome.name}'")
            self.use_existing.setVisible(True)
            self.add_again.setVisible(True)
            return
        self.spec = outcome
        self._select(outcome.name)

    def _failed(self, message: str) -> None:
        self._set_busy(False)
        self.about.setText(message.splitlines()[0])
        messages.show_error(self, message)

    def _use_existing(self) -> None:
        if self.existing:
            self._select(self.existing)

    def _select(self, name: str) -> None:
        self.state.model_name = name
        self.state.model_changed.emit()
        self.accept()

    def reject(self) -> None:
        if self.job is not None:
            self.job.cancel()  # a registration cannot stop midway: one that ends is listed, not selected
            self.job.signals.finished.disconnect(self._registered)
            self.job.signals.failed.disconnect(self._failed)
        super().reject()
