"""File menu work: open dialogs, import and export. Long work runs as a Job (gui/workers.py)
behind a progress dialog with Cancel; the work itself is core/formats/project_io.py (as for the CLI)."""
from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.text import plural
from maskwork.core.formats import project_io
from maskwork.core.formats.export_scope import export_names
from maskwork.core.formats.steps import CorrectedWorkConflict
from maskwork.core.formats.table import codec
from maskwork.core.store.images import IMAGE_SUFFIXES
from maskwork.core.store.names import PROJECT_FILE, STORE_DIR, is_project
from maskwork.gui.dialogs import messages
from maskwork.gui.dialogs.export_dialog import ExportDialog
from maskwork.gui.workers import Job, start


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

    def open_project_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Open a Maskwork project")
        if path:
            self.open_project(path)

    def open_project(self, path) -> bool:
        if not is_project(path):
            messages.show_error(self.window, InputError(
                f"{path} is not a Maskwork project (it has no {STORE_DIR}/{PROJECT_FILE}). "
                "Use File > Open folder to start a project on a folder of images."))
            return False
        return self.window.session.open_path(path)

    # ---- jobs -------------------------------------------------------------------------
    def run(self, title: str, fn, *args, on_done=None, on_fail_hint: str = "", pass_progress: bool = True,
            **kwargs) -> Job:
        """Run fn(*args, progress=, cancel=, **kwargs) in a worker behind a modal progress dialog."""
        dialog = QProgressDialog(title, "Cancel", 0, 0, self.window)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)  # no edits while files are written
        dialog.setMinimumDuration(300)
        job = Job(fn, *args, pass_progress=pass_progress, **kwargs)
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

        def ended(kind: str, value) -> None:
            job.outcome = (kind, value)  # read by tests and scripts that wait for the job
            finish()

        def finished(result) -> None:
            ended("finished", result)
            if on_done:
                on_done(result)

        def failed(msg: str) -> None:
            ended("failed", msg)
            messages.show_error(self.window, msg + on_fail_hint)

        def cancelled() -> None:
            ended("cancelled", None)
            self.window.state.status_message.emit(f"{title}: cancelled, nothing was written.")

        job.signals.progress.connect(progress)
        job.signals.finished.connect(finished)
        job.signals.failed.connect(failed)
        job.signals.cancelled.connect(cancelled)
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
            self.export(fmt, path, selected if scope == "selected" else None, layer, dialog.only_corrected())

    def export(self, fmt: str, path, names: list[str] | None = None, layer: str = "corrected",
               only_corrected: bool | None = None) -> Job | None:
        """Export `names` (None: every image) as fmt (core.formats.table.EXPORT_FORMATS) to path; only the images
        with corrections when `only_corrected` (None: the default for the layer, core.formats.export_scope)."""
        if self.project is None:
            return None
        self.window.session.remember_view()
        names = list(names) if names else self.project.image_names()
        try:
            project_io.check_export_target(self.project, path, fmt)  # core/store/writer_guard.py, before any work
            chosen = export_names(self.project, names, layer, only_corrected)
        except InputError as exc:
            messages.show_error(self.window, exc)
            return None
        left = len(names) - len(chosen)
        note = f"; {plural(left, 'image')} without corrections left out" if left else ""
        return self.run(f"Exporting {fmt}", project_io.export_project, self.project, path, fmt, chosen, layer,
                        only_corrected=False,
                        on_done=lambda rep: self._done(f"Exported {rep.summary()} to {path}{note}", rep.warnings))

    def _done(self, text: str, warnings: list[str]) -> None:
        self.window.state.status_message.emit(text)
        if warnings:
            messages.show_info(self.window, "Done, with warnings", text + "\n\n" + "\n".join(warnings[:15]))

    # ---- import -----------------------------------------------------------------------
    def import_dialog(self, kind: str) -> None:
        """File > Import <format>: pick the source (a file or a folder, as the format table says) and import it."""
        if self.project is None:
            return
        c = codec(kind)
        title, root = f"Import {c.title}", str(self.project.root)
        if "folder" in c.source:
            path = QFileDialog.getExistingDirectory(self.window, f"{title}: {c.help}", root)
        else:
            path, _ = QFileDialog.getOpenFileName(self.window, title, root, c.file_filter)
        if path:
            self.import_(kind, path, ask=True)

    def import_(self, kind: str, path, overwrite: bool = False, ask: bool = False) -> Job | None:
        """Import COCO JSON, PNG masks, YOLO labels or labelme JSON (kind) into the open project (all or nothing).

        Corrected work is replaced only with `overwrite`; with `ask` (the menu's path) an import that would
        replace some asks, naming the images, and runs again with overwrite if the user agrees."""
        if self.project is None or self.window.state.refuse_read_only():
            return None
        hint = "" if overwrite or ask else ("\n\nIn Maskwork: import again from the File menu; it asks before "
                                            "replacing corrected work.")
        fn = partial(_import, kind)

        def done(rep) -> None:
            if isinstance(rep, CorrectedWorkConflict):
                self._ask_to_replace(kind, path, rep.names)
            else:
                self._imported(rep)

        job_fn, args = ((_conflict_as_result, (fn, self.project, path, overwrite)) if ask
                        else (fn, (self.project, path, overwrite)))
        return self.run(f"Importing {Path(path).name}", job_fn, *args, on_done=done, on_fail_hint=hint,
                        pass_progress=False)

    def _ask_to_replace(self, kind: str, path, names: list[str]) -> None:
        shown = "\n".join(names[:8]) + (f"\n... and {len(names) - 8} more" if len(names) > 8 else "")
        answer = QMessageBox.question(
            self.window, "Import",
            f"This import would replace the corrected work of {plural(len(names), 'image')}:\n{shown}\n\n"
            "Replace it with the imported annotations? (No imports nothing and keeps your work.)")
        if answer == QMessageBox.StandardButton.Yes:
            self.import_(kind, path, overwrite=True)
        else:
            self.window.state.status_message.emit("Import: nothing imported; your corrected work is kept.")

    def _imported(self, rep) -> None:
        s = self.window.state
        self.window.editor.undo.forget(rep.names)  # replaced layers: their old steps no longer apply
        s.flags.forget(rep.names)  # ... nor their object locks: the ids name other objects now
        for name in rep.names:  # the imported layers go to the crash journal like any edit
            self.project.record_edit(name)
        s.classes_changed.emit()
        self.window.editor.set_selection([])
        s.notify_edit(None)  # show the imported masks of the open image
        self.window.image_list.model.set_project(self.project)
        self.window.image_list.select(s.current_name)
        self.window.session.title_changed.emit()
        text = rep.summary()
        self._done(text[:1].upper() + text[1:] + ".", rep.warnings)  # not capitalize(): it lowercases class names


def _conflict_as_result(fn, project, path, overwrite: bool):
    """fn's report, or the conflict it found (the GUI then asks instead of showing an error)."""
    try:
        return fn(project, path, overwrite)
    except CorrectedWorkConflict as conflict:
        return conflict


def _import(kind: str, project, path, overwrite: bool):
    return project_io.import_source(project, path, kind, overwrite=overwrite)
