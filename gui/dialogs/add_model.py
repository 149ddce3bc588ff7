"""Model > Add model file…: register a Maskwork checkpoint or an ONNX file (core does the work).

A YOLO-seg or Maskwork ONNX export describes itself; a generic semantic net asks for its class names,
how to size the image and its normalisation. Anything core refuses is shown in one sentence and
nothing is registered. On success the new model becomes the current one (the model panel follows).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from maskwork.core.errors import MaskworkError
from maskwork.gui.dialogs import messages

FILTER = "Models (*.onnx *.pt *.pth);;ONNX (*.onnx);;Maskwork checkpoints (*.pt *.pth)"


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

    def register(self) -> None:
        path = self.path.text().strip()
        name = self.name.text().strip() or None
        try:
            if Path(path).suffix.lower() == ".onnx":
                from maskwork.core.models.onnx_models.register import register_onnx

                self.spec = register_onnx(path, name=name, user=self._user() if self.classes.text().strip() else None)
            else:
                from maskwork.core.models.user_models import register_checkpoint

                self.spec = register_checkpoint(path, name=name)
        except (MaskworkError, OSError) as exc:
            messages.show_error(self, exc)
            return
        self.state.model_name = self.spec.name
        self.state.model_changed.emit()
        self.accept()
