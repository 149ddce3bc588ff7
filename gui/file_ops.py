"""File menu work: open dialogs, import and export. Long work runs as a Job (gui/workers.py)
behind a progress dialog with Cancel; the core functions live in core/transfer.py."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog

from core import transfer
from core.images import IMAGE_SUFFIXES
from gui.dialogs import messages
from gui.dialogs.export_dialog import ExportDialog
from gui.workers import Job, start


class FileOps:
    def __init__(self, window) -> None:
        self.window = window
        self.jobs: list[Job] = []  # keep running jobs (and their signals) alive

    @property
    def project(self):
        return self.window.state.project

    # ---- opening ----------------------------------------------------------------------
    def open_image_dialog(self) -> None:
        patterns = " ".join(f"*{s}" for s in IMAGE_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self.window, "Open image", "", f"Images ({patterns})")
        if path:
            self.window.session.open_path(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Open a folder of images or a Maskwork project")
        if path:
            self.window.session.open_path(path)

    # ---- jobs -------------------------------------------------------------------------
    def run(self, title: str, fn, *args, on_done=None, **kwargs) -> Job:
        """Run fn(*args, progress=, cancel=, **kwargs) in a worker behind a modal progress dialog."""
        dialog = QProgressDialog(title, "Cancel", 0, 0, self.window)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)  # no edits while files are written
        dialog.setMinimumDuration(300)
        job = Job(fn, *args, **kwargs)
        dialog.canceled.connect(job.cancel)

        def progress(done: int, total: int, message: str) -> None:
            dialog.setMaximum(total)
            dialog.setValue(done)
            dialog.setLabelText(f"{title}\n{message}")

        def finish(*_args) -> None:
            dialog.reset()
            dialog.deleteLater()
            if job in self.jobs:
                self.jobs.remove(job)

        job.signals.progress.connect(progress)
        job.signals.finished.connect(lambda result: (finish(), on_done and on_done(result)))
        job.signals.failed.connect(lambda msg: (finish(), messages.show_error(self.window, msg)))
        job.signals.cancelled.connect(lambda: (finish(), self.window.state.status_message.emit(
            f"{title}: cancelled, nothing was written.")))
        self.jobs.append(job)
        return start(job)

    # ---- export -----------------------------------------------------------------------
    def export_dialog(self) -> None:
        if self.project is None:
            return
        selected = self.window.image_list.selected_names()
        dialog = ExportDialog(self.project, len(selected), self.window)
        if not dialog.exec():
            return
        fmt, scope, layer, path = dialog.values()
        if path:
            self.export(fmt, path, selected if scope == "selected" else None, layer)

    def export(self, fmt: str, path, names: list[str] | None = None, layer: str = "corrected") -> Job | None:
        """Export `names` (None: every image) as fmt in transfer.EXPORT_FORMATS to path."""
        if self.project is None:
            return None
        self.window.session.remember_view()
        names = list(names) if names else self.project.image_names()
        done = lambda rep: self._done(rep, "Exported", path)  # noqa: E731
        if fmt == "png":
            return self.run("Exporting PNG masks", transfer.export_png, self.project, names, path, layer,
                            on_done=done)
        mode = fmt.split("-", 1)[1]
        return self.run(f"Exporting COCO ({mode})", transfer.export_coco, self.project, names, path, mode, layer,
                        on_done=done)

    def _done(self, rep: transfer.TransferReport, verb: str, where) -> None:
        text = rep.summary(verb) + f"\n→ {where}"
        self.window.state.status_message.emit(text.splitlines()[0])
        if rep.skipped or rep.warnings:
            messages.show_info(self.window, verb, text)

    # ---- import -----------------------------------------------------------------------
    def import_coco_dialog(self) -> None:
        if self.project is None:
            return
        path, _ = QFileDialog.getOpenFileName(self.window, "Import COCO JSON", str(self.project.root), "COCO (*.json)")
        if path:
            self.import_("coco", path, self._ask_overwrite())

    def import_png_dialog(self) -> None:
        if self.project is None:
            return
        path = QFileDialog.getExistingDirectory(self.window, "Import a folder of PNG masks", str(self.project.root))
        if path:
            self.import_("png", path, self._ask_overwrite())

    def _ask_overwrite(self) -> bool:
        answer = QMessageBox.question(self.window, "Import", "Replace corrected work that images already have?\n"
                                      "(No keeps it and skips those images.)")
        return answer == QMessageBox.StandardButton.Yes

    def import_(self, kind: str, path, overwrite: bool = False) -> Job | None:
        if self.project is None:
            return None
        fn = transfer.import_coco if kind == "coco" else transfer.import_png_masks
        return self.run(f"Importing {Path(path).name}", fn, self.project, path, overwrite,
                        on_done=self._imported)

    def _imported(self, rep: transfer.TransferReport) -> None:
        s = self.window.state
        s.classes_changed.emit()
        if s.current_name in rep.done:  # show the imported masks of the open image
            s.annotation = self.project.annotation(s.current_name)
            self.window.editor.image_switched()
            s.image_changed.emit(s.current_name)
        self.window.image_list.model.set_project(self.project)
        self.window.image_list.select(s.current_name)
        self.window.session.title_changed.emit()
        self._done(rep, "Imported", self.project.root)
