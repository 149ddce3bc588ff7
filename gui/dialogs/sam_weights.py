"""The SAM model files are not on this computer: say which two files, how big, where they go and where
they come from; download them here (a worker, with progress and Cancel) or put them there by hand.

A newcomer who picks a SAM model without its files sees this instead of a cut-off status-bar line. The
files and their addresses come from core/interactive/sam/catalog.py; the download is catalog.fetch
(resumable, sha256-checked). When the download cannot run (no network, downloads switched off) the
dialog says so in one sentence and stays open: the folder and the addresses are what the user needs.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from maskwork.core.interactive.sam import catalog
from maskwork.gui.workers import Job, start

SELECTABLE = Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.LinksAccessibleByMouse


def _label(text: str, link: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(SELECTABLE)
    label.setOpenExternalLinks(link)
    return label


class SamWeightsDialog(QDialog):
    """Accepted once both files are in place (downloaded here or copied by hand and checked again)."""

    def __init__(self, spec: catalog.SamSpec, trust: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.spec, self.trust = spec, trust
        self.job: Job | None = None
        self.setWindowTitle(f"SAM model files: {spec.name}")
        self.setMinimumWidth(640)
        encoder, decoder = catalog.files_of(spec)
        self.folder = encoder.parent
        intro = _label(f"<b>{spec.family}</b> ({spec.licence}) needs two files that are not on this computer yet: "
                       f"an image encoder and a prompt decoder, {catalog.download_size(spec)} in all. "
                       "Download them here, or put them into the folder below by hand (for example from a "
                       "computer with internet); Maskwork finds them there without a network.")
        files = QGridLayout()
        files.setColumnStretch(1, 1)  # the names and addresses take the width, not the "Encoder" column
        for row, (role, file, path) in enumerate((("Encoder", spec.encoder, encoder),
                                                  ("Decoder", spec.decoder, decoder))):
            here = " (already here)" if path.is_file() else ""
            files.addWidget(QLabel(f"<b>{role}</b>"), 2 * row, 0)
            files.addWidget(_label(f"{file.filename}, {catalog.megabytes(file.size_mb)}{here}"), 2 * row, 1)
            files.addWidget(_label(f'<a href="{file.url}">{file.url}</a>', link=True), 2 * row + 1, 1)
        self.folder_label = _label(f"Folder: <code>{self.folder}</code>")
        self.open_folder_button = QPushButton("Open folder")
        self.open_folder_button.setToolTip("Create the folder if needed and show it in the file manager")
        self.open_folder_button.clicked.connect(self.open_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_label, 1)
        folder_row.addWidget(self.open_folder_button)
        self.bar = QProgressBar()
        self.bar.setVisible(False)
        self.status = _label("")
        self.download_button = QPushButton("Download")
        self.download_button.setToolTip(f"Fetch both files from their publisher ({catalog.download_size(spec)})")
        self.download_button.clicked.connect(self.download)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.setToolTip("Stop; the part already downloaded is kept and the next download continues it")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_download)
        self.check_button = QPushButton("I put them there")
        self.check_button.setToolTip("Look in the folder again for files copied by hand")
        self.check_button.clicked.connect(self.check_files)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        for b in (self.download_button, self.cancel_button, self.check_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(files)
        layout.addLayout(folder_row)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    # ---- the folder -------------------------------------------------------------------------------
    def open_folder(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.status.setText(f"Cannot create {self.folder} ({exc.strerror}); set MASKWORK_CACHE_DIR to a "
                                "writable folder.")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))

    def check_files(self) -> bool:
        missing = catalog.missing_files(self.spec)
        if not missing:
            self.accept()
            return True
        names = " and ".join(p.name for _f, p in missing)
        self.status.setText(f"{names} {'is' if len(missing) == 1 else 'are'} not in {self.folder} yet.")
        return False

    # ---- the download -----------------------------------------------------------------------------
    def download(self) -> Job | None:
        if self.job is not None:
            return None
        if not catalog.downloads_allowed():
            self.status.setText("Downloads are switched off on this computer (MASKWORK_OFFLINE). Copy the two files "
                                "from the addresses above into the folder, then press 'I put them there'.")
            return None
        job = Job(catalog.fetch, self.spec, trust=self.trust)
        job.signals.progress.connect(self._on_progress)
        job.signals.finished.connect(lambda _paths: self._ended("done"))
        job.signals.failed.connect(lambda message: self._ended("failed", message))
        job.signals.cancelled.connect(lambda: self._ended("cancelled"))
        self.job = job
        self.bar.setRange(0, 0)
        self.bar.setVisible(True)
        self.status.setText("Connecting…")
        self._set_busy(True)
        return start(job)

    def cancel_download(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Stopping the download…")

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(min(1000, done * 1000 // total))
        self.bar.setFormat(f"%p%  {message}")
        self.status.setText(f"{message}: {done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else message)

    def _ended(self, how: str, message: str = "") -> None:
        self.job = None
        self._set_busy(False)
        self.bar.setVisible(how == "done")
        if how == "done":
            self.status.setText("Both files are here.")
            self.accept()
        elif how == "cancelled":
            self.status.setText("Download stopped. Download again to continue where it stopped, or copy the files "
                                "into the folder above.")
        else:
            first = message.splitlines()[0] if message else "the download failed"
            self.status.setText(f"The download did not work: {first[0].lower()}{first[1:]} You can still copy the "
                                "files from the addresses above into the folder, then press 'I put them there'.")

    def _set_busy(self, busy: bool) -> None:
        self.download_button.setEnabled(not busy)
        self.check_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def reject(self) -> None:
        self.cancel_download()  # closing stops a running download (the part fetched is kept for next time)
        super().reject()
