"""Issue 18, section 3: a SAM model without its files gets a dialog, not a cut-off status-bar line: both
files with their sizes, the folder (Open folder), the addresses, and a download in a worker with progress
and Cancel; without a network the download fails in one sentence and the dialog stays open and useful."""
from __future__ import annotations

import dataclasses
import hashlib
import http.server
import os
import threading
import time
from functools import partial

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QInputDialog

from maskwork.core.interactive.sam import catalog
from maskwork.gui.dialogs.sam_weights import SamWeightsDialog
from maskwork.gui.tools.sam_tool import picker_text
from tests.gui.interactive_helpers import key, tool

FILE_BYTES = 3_000_000  # large enough for several progress reports (core.models.catalog.weights reads in chunks)


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKWORK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MASKWORK_OFFLINE", raising=False)
    return tmp_path / "cache" / "sam"


@pytest.fixture
def served_pair(tmp_path):
    """An encoder and a decoder file on a local HTTP server, and a catalog row pointing at them."""
    root = tmp_path / "server"
    root.mkdir()
    blobs = {"enc.onnx": os.urandom(FILE_BYTES), "dec.onnx": os.urandom(FILE_BYTES // 3)}
    for name, data in blobs.items():
        (root / name).write_bytes(data)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    spec = dataclasses.replace(
        catalog.SAM_MODELS["sam-vit-b"], name="served",
        encoder=catalog.OnnxFile(base + "enc.onnx", hashlib.sha256(blobs["enc.onnx"]).hexdigest(), 3),
        decoder=catalog.OnnxFile(base + "dec.onnx", hashlib.sha256(blobs["dec.onnx"]).hexdigest(), 1))
    yield spec, blobs
    server.shutdown()


def test_the_picker_shows_what_each_download_costs(empty_cache):
    row = picker_text(catalog.SAM_MODELS["sam-vit-b"])
    assert "MB" in row and "encoder 104 MB + decoder 9 MB" in row
    assert "MB" not in picker_text(catalog.pair_spec("/x/enc.onnx,/x/dec.onnx"))  # your own files: no download


def test_the_dialog_names_both_files_sizes_folder_and_addresses(qtbot, empty_cache):
    spec = catalog.SAM_MODELS["sam-vit-b"]
    dlg = SamWeightsDialog(spec)
    qtbot.addWidget(dlg)
    texts = " ".join(w.text() for w in dlg.findChildren(type(dlg.status)))
    for file in (spec.encoder, spec.decoder):
        assert file.filename in texts and file.url in texts
    assert "about 104 MB" in texts and "about 9 MB" in texts and str(empty_cache / "sam-vit-b") in texts
    assert dlg.open_folder_button.isEnabled() and dlg.download_button.isEnabled()


def test_picking_a_model_without_files_opens_the_dialog(qtbot, instances, empty_cache, monkeypatch):
    key(qtbot, instances, Qt.Key.Key_J)
    sam = tool(instances)
    items = []
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(
        lambda parent, title, label, rows, *a: (items.extend([label, *rows]) or rows[0], True)))
    shown = []
    monkeypatch.setattr(SamWeightsDialog, "exec", lambda self: shown.append(self.spec.name) or 0)
    assert sam.choose_model() is False       # the user closed the dialog: no model, no failing worker
    assert shown == [catalog.all_specs()[0].name] and sam.spec is None
    assert "MB" in items[1]


def test_download_shows_progress_and_ends_with_both_files(qtbot, empty_cache, served_pair):
    spec, blobs = served_pair
    dlg = SamWeightsDialog(spec)
    qtbot.addWidget(dlg)
    seen = []
    dlg.bar.valueChanged.connect(seen.append)
    with qtbot.waitSignal(dlg.accepted, timeout=60_000):
        dlg.download()
        assert dlg.cancel_button.isEnabled() and not dlg.download_button.isEnabled()
    enc, dec = catalog.files_of(spec)
    assert enc.read_bytes() == blobs["enc.onnx"] and dec.read_bytes() == blobs["dec.onnx"]
    assert len(set(seen)) > 2 and max(seen) == 1000     # the bar moved, and reached the end
    assert dlg.result() == QDialog.DialogCode.Accepted


def test_cancel_stops_the_download_and_keeps_the_dialog(qtbot, empty_cache, served_pair, monkeypatch):
    spec, _blobs = served_pair
    dlg = SamWeightsDialog(spec)
    qtbot.addWidget(dlg)
    dlg.show()
    started = threading.Event()
    real = catalog.fetch

    def slow_fetch(*args, progress=None, cancel=None, **kw):
        def watch(done, total, message=""):  # hold the first chunk until the user has pressed Cancel
            started.set()
            deadline = time.monotonic() + 10
            while not cancel.cancelled and time.monotonic() < deadline:
                time.sleep(0.01)
            progress(done, total, message)
        return real(*args, progress=watch, cancel=cancel, **kw)

    monkeypatch.setattr(catalog, "fetch", slow_fetch)
    dlg.download()
    qtbot.waitUntil(started.is_set, timeout=30_000)
    dlg.cancel_download()
    qtbot.waitUntil(lambda: dlg.job is None, timeout=30_000)
    assert "stopped" in dlg.status.text() and dlg.isVisible() and dlg.download_button.isEnabled()
    assert not catalog.files_of(spec)[0].is_file()


def test_without_a_network_the_download_fails_in_one_sentence(qtbot, empty_cache, served_pair):
    spec, _blobs = served_pair
    refused = dataclasses.replace(spec, encoder=dataclasses.replace(spec.encoder, url="http://127.0.0.1:9/enc.onnx"))
    dlg = SamWeightsDialog(refused)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.download()
    qtbot.waitUntil(lambda: dlg.job is None, timeout=60_000)
    text = dlg.status.text()
    assert text.startswith("The download did not work: cannot download enc.onnx") and "Traceback" not in text
    assert "I put them there" in text and dlg.isVisible() and dlg.download_button.isEnabled()


def test_offline_the_dialog_says_so_and_stays_useful(qtbot, empty_cache, monkeypatch):
    monkeypatch.setenv("MASKWORK_OFFLINE", "1")
    spec = catalog.SAM_MODELS["sam-vit-b"]
    dlg = SamWeightsDialog(spec)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.download() is None and dlg.job is None
    assert "switched off" in dlg.status.text() and dlg.isVisible() and dlg.check_button.isEnabled()
    # the user copies the files by hand, then says so: the dialog finds them and closes
    folder = empty_cache / "sam-vit-b"
    folder.mkdir(parents=True)
    (folder / spec.encoder.filename).write_bytes(b"x")
    assert dlg.check_files() is False and spec.decoder.filename in dlg.status.text()
    (folder / spec.decoder.filename).write_bytes(b"x")
    assert dlg.check_files() is True and dlg.result() == QDialog.DialogCode.Accepted
