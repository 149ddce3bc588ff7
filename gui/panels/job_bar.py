"""A progress bar + message + Cancel button that runs one gui.workers.Job at a time.

Panels hand it a Job and what to do with the result; it shows progress, lets the user cancel, and
reports failures in a non-blocking dialog (the window stays usable).
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QProgressBar, QPushButton, QWidget

from maskwork.gui.workers import Job, start


class JobBar(QWidget):
    busy_changed = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running work; results finished so far are kept")
        self.cancel_button.clicked.connect(self.cancel)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        self.job: Job | None = None
        self.last_error = ""
        self._dialog: QMessageBox | None = None
        self._callbacks = (None, None, None, None)
        self._set_busy(False)

    @property
    def busy(self) -> bool:
        return self.job is not None

    def run(self, job: Job, on_done, on_cancel=None, on_fail=None, on_item=None) -> Job:
        """Start `job`; `on_done(result)` on success; cancel/failure callbacks are optional."""
        if self.job is not None:
            raise RuntimeError("a job is already running in this panel")
        self.job = job
        self.last_error = ""
        self._callbacks = (on_done, on_cancel, on_fail, on_item)
        # bound methods of this widget: Qt queues the worker's signals onto the GUI thread
        job.signals.progress.connect(self._on_progress)
        job.signals.finished.connect(self._on_finished)
        job.signals.cancelled.connect(self._on_cancelled)
        job.signals.failed.connect(self._on_failed)
        job.signals.item.connect(self._on_item)
        self.bar.setRange(0, 0)  # busy until the first progress report
        self._set_busy(True)
        return start(job)

    def closeEvent(self, event) -> None:
        self.cancel()
        super().closeEvent(event)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.bar.setFormat("cancelling...")

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        self.bar.setFormat(f"%v/%m {message}" if total > 1 else (message or "%p%"))

    def _on_item(self, item) -> None:
        if self._callbacks[3] is not None:
            self._callbacks[3](item)

    def _on_finished(self, result) -> None:
        on_done = self._finish("done")
        if on_done is not None:
            on_done(result)

    def _on_cancelled(self) -> None:
        self._finish("cancelled")
        if self._callbacks[1] is not None:
            self._callbacks[1]()

    def _on_failed(self, message: str) -> None:
        self.last_error = message
        self._finish("failed")
        if self._callbacks[2] is not None:
            self._callbacks[2](message)
        self._dialog = QMessageBox(QMessageBox.Icon.Warning, "Maskwork", message, QMessageBox.StandardButton.Ok,
                                   self.window())
        self._dialog.open()  # non-blocking: the user's work stays reachable

    def _finish(self, text: str):
        self.job = None
        self._set_busy(False)
        self.bar.setFormat(text)
        self.bar.setValue(1 if text == "done" else 0)
        return self._callbacks[0]

    def _set_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        self.setVisible(busy)  # idle: no empty bar; the panel's own text says how the last run ended
        if not busy:
            self.bar.setRange(0, 1)
        self.busy_changed.emit(busy)
