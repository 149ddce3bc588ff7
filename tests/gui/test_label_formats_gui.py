"""YOLO and labelme in the window: File menu entries, the export dialog's format list, and an export
then import through FileOps (the jobs the menu entries run) that brings every mask back."""
from __future__ import annotations

import shutil

import pytest

from maskwork.core.formats.coco import load_coco
from maskwork.gui.dialogs import messages
from maskwork.gui.dialogs.export_dialog import ExportDialog
from tests.gui.window_helpers import wait_job


@pytest.mark.parametrize("fmt", ["yolo", "labelme"])
def test_export_then_import_in_the_window(qtbot, window, nuclei_folder, tmp_path, monkeypatch, fmt):
    shown = []
    monkeypatch.setattr(messages, "show_info", lambda parent, title, text: shown.append(text))
    monkeypatch.setattr(messages, "show_error", lambda parent, err, title="": shown.append(str(err)))
    texts = [a.text() for a in window.menus["File"].actions()]
    assert "Import YOLO labels…" in texts and "Import labelme JSON…" in texts
    gt = load_coco(tmp_path / "nuclei_gt.json")
    assert window.session.open_path(nuclei_folder, task="instance", classes=gt.classes)
    dialog = ExportDialog(window.state.project, 0, window)
    assert {"yolo", "labelme"} <= {dialog.fmt.itemData(k) for k in range(dialog.fmt.count())}
    wait_job(qtbot, window.files.import_("coco", tmp_path / "nuclei_gt.json"))
    out = tmp_path / "exported"
    report = wait_job(qtbot, window.files.export(fmt, out))
    assert report.objects == sum(len(a.corrected.instances) for a in gt.annotations)
    for ann in gt.annotations:  # clear the masks in memory, then bring them back from the export
        window.state.project.annotation(ann.file_name).corrected.instances.clear()
    if fmt == "labelme":  # labelme files name their image relative to themselves: keep them beside it
        for f in out.glob("*.json"):
            shutil.copy(f, nuclei_folder / f.name)
    wait_job(qtbot, window.files.import_(fmt, out if fmt == "yolo" else nuclei_folder, overwrite=True))
    for ann in gt.annotations:
        got = window.state.project.annotation(ann.file_name).corrected.instances
        assert [i.mask for i in got] == [i.mask for i in ann.corrected.instances]
