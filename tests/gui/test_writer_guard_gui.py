"""Issue 19: File > Export and File > Save to another folder go through the writer guard before any work
(core/store/writer_guard.py): masks never land over the project's images or in its store."""
from __future__ import annotations

from maskwork.core.cli import run
from maskwork.gui.dialogs import messages


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_gui_export_into_the_project_is_refused_before_any_work(qtbot, window, nuclei_folder, tmp_path,
                                                                monkeypatch):
    assert run(["import", str(tmp_path / "nuclei_gt.json"), str(nuclei_folder)]) == 0
    assert window.session.open_path(nuclei_folder)
    errors = []
    monkeypatch.setattr(messages, "show_error", lambda parent, err, title="": errors.append(str(err)))
    before = _files(nuclei_folder)
    names = window.state.project.image_names()
    for fmt, target in (("png", nuclei_folder), ("instance-png", nuclei_folder / "masks"),
                        ("coco-rle", nuclei_folder / ".maskwork" / "project.json")):
        assert window.files.export(fmt, target) is None  # no job started
    assert len(errors) == 3, errors
    assert "new images" in errors[0] and str(nuclei_folder) in errors[0]
    assert ".maskwork" in errors[2]
    assert _files(nuclei_folder) == before
    assert window.state.project.image_names(refresh=True) == names


def test_save_to_another_folder_never_over_another_project(qtbot, window, nuclei_folder, aerial_folder, tmp_path,
                                                           monkeypatch):
    assert run(["import", str(tmp_path / "nuclei_gt.json"), str(nuclei_folder)]) == 0
    other = _files(nuclei_folder / ".maskwork")
    assert window.session.open_path(aerial_folder, task="semantic")
    errors = []
    monkeypatch.setattr(messages, "show_error", lambda parent, err, title="": errors.append(str(err)))
    assert not window.session.save_elsewhere(nuclei_folder)
    assert errors and "another Maskwork project" in errors[0]
    assert _files(nuclei_folder / ".maskwork") == other
