"""Export choices: format, all or selected images, which layer, and where."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QLabel

from maskwork.core.formats.export_scope import default_only_corrected
from maskwork.core.formats.table import EXPORTS

SCOPE_TIP = "Select several images in the image list (Ctrl/Shift+click) to export only those"


class ExportDialog(QDialog):
    def __init__(self, project, n_selected: int, parent=None) -> None:
        super().__init__(parent)
        self.project = project
        self.setWindowTitle("Export")
        self.fmt = QComboBox()
        for key, variant in EXPORTS.items():  # the format table (core/formats/table.py)
            self.fmt.addItem(variant.description, key)
        self.fmt.setToolTip("RLE is lossless; COCO polygons cannot hold holes (the report says how close they are)")
        self.scope = QComboBox(self)
        self.scope.addItem(f"All {len(project.image_names())} images", "all")
        if n_selected > 1:
            self.scope.addItem(f"The {n_selected} selected images", "selected")
        self.scope.setToolTip(SCOPE_TIP)
        # one choice is no choice: say what is exported and how to pick fewer, instead of a one-item list
        self.scope_note = QLabel(f"All {len(project.image_names())} images", self)
        self.scope_note.setToolTip(SCOPE_TIP)
        self.layer = QComboBox()
        self.layer.addItem("Corrected (your work)", "corrected")
        self.layer.addItem("Prediction (model output)", "prediction")
        self.layer.setToolTip("Which layer to export")
        self.corrected_only = QCheckBox("Only images with corrections")
        self.corrected_only.setToolTip(
            "Write only the images you corrected, accepted, imported or marked reviewed. An image written "
            "without objects reads as 'no objects here', so uncorrected images are left out by default "
            "when exporting your corrections.")
        self.corrected_only.setChecked(default_only_corrected("corrected"))
        self.layer.currentIndexChanged.connect(
            lambda _i: self.corrected_only.setChecked(default_only_corrected(self.layer.currentData())))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Format", self.fmt)
        if self.scope.count() > 1:
            self.scope_note.hide()
            form.addRow("Images", self.scope)
        else:
            self.scope.hide()
            form.addRow("Images", self.scope_note)
        form.addRow("Layer", self.layer)
        form.addRow("", self.corrected_only)
        form.addRow(buttons)

    def only_corrected(self) -> bool:
        return self.corrected_only.isChecked()

    def values(self) -> tuple[str, str, str, str]:
        fmt = self.fmt.currentData()
        root = str(self.project.root)
        variant = EXPORTS[fmt]
        if variant.target == "folder":
            path = QFileDialog.getExistingDirectory(self, variant.folder_title or "Folder for the PNG masks", root)
        else:
            path, _ = QFileDialog.getSaveFileName(self, "COCO JSON file", str(Path(root) / "annotations.json"),
                                                  "COCO (*.json)")
        return fmt, self.scope.currentData(), self.layer.currentData(), path
