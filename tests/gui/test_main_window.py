"""Main window on real images: open, navigate, classes, view restore, export, close prompt, autosave."""
from __future__ import annotations

import numpy as np
import pytest
from pycocotools.coco import COCO
from PySide6.QtCore import QPointF, Qt

from maskwork.core.domain.annotation import Layer, Status
from maskwork.core.formats.coco import load_coco
from maskwork.core.store.project import Project
from maskwork.gui.dialogs import messages
from tests.gui.window_helpers import aerial_classes, label_map, stroke, view_pos, wait_job


def open_aerial(window, aerial_folder, aerial_dir):
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    return window.state.project


def test_open_folder_lists_images_and_keys_navigate(qtbot, window, aerial_folder, aerial_dir):
    project = open_aerial(window, aerial_folder, aerial_dir)
    names = project.image_names()
    assert window.image_list.visible_names() == names
    assert window.state.current_name == names[0]
    assert window.state.image.shape[:2] == (window.state.annotation.height, window.state.annotation.width)
    qtbot.keyClick(window.view, Qt.Key.Key_D)
    assert window.state.current_name == names[1]
    qtbot.keyClick(window.view, Qt.Key.Key_D)  # already the last: stays
    assert window.state.current_name == names[1]
    qtbot.keyClick(window.view, Qt.Key.Key_A)
    assert window.state.current_name == names[0]
    qtbot.keyClick(window.view, Qt.Key.Key_Right)
    assert window.state.current_name == names[1]
    qtbot.keyClick(window.view, Qt.Key.Key_Left)
    assert window.state.current_name == names[0]
    assert window.windowTitle().startswith(aerial_folder.name)


def test_image_list_filters_by_text_and_state(qtbot, window, aerial_folder, aerial_dir):
    project = open_aerial(window, aerial_folder, aerial_dir)
    names = project.image_names()
    window.image_list.filter_edit.setText(names[1][-7:])
    assert window.image_list.visible_names() == names  # names[1] matches; names[0] is on screen (issue 18)
    window.image_list.filter_edit.setText("")
    stroke(qtbot, window, [view_pos(window, 50, 50), view_pos(window, 80, 60)])  # corrects image 0
    window.image_list.state_combo.setCurrentText(Status.CORRECTED.value)
    assert window.image_list.visible_names() == [names[0]]
    window.image_list.state_combo.setCurrentText(Status.NOT_STARTED.value)
    assert window.image_list.visible_names() == names  # the corrected image 0 is still the one on screen
    window.session.open_image(names[1])
    assert window.image_list.visible_names() == [names[1]]


def test_number_keys_pick_class_and_classes_panel_edits(qtbot, window, aerial_folder, aerial_dir):
    project = open_aerial(window, aerial_folder, aerial_dir)
    qtbot.keyClick(window.view, Qt.Key.Key_3)
    assert window.state.current_class == 3
    assert window.classes_panel.list.currentItem().text().endswith("road")
    qtbot.keyClick(window.view, Qt.Key.Key_9)  # no class 9: nothing changes
    assert window.state.current_class == 3
    window.classes_panel.add_class("shadow")
    assert project.classes.by_name("shadow").id == 6 and window.state.current_class == 6
    window.classes_panel.rename_class(6, "shade")
    window.classes_panel.recolour_class(6, "#123456")
    assert project.classes.get(6).name == "shade" and project.classes.get(6).color == "#123456"
    assert window.classes_panel.list.count() == len(project.classes)
    assert window.windowTitle().startswith("*")  # class edits are unsaved work


def test_zoom_keeps_the_point_under_the_cursor(qtbot, window, aerial_folder, aerial_dir):
    open_aerial(window, aerial_folder, aerial_dir)
    view = window.view
    view.set_zoom(4.0)
    view.centerOn(QPointF(160, 160))
    for pos, steps in (((300, 200), 2), ((120, 400), -1), ((500, 90), 3)):
        anchor = QPointF(*pos)
        before = view.to_scene(anchor)
        view.set_zoom(view.zoom() * 1.25 ** steps, anchor)
        after = view.to_scene(anchor)
        assert abs(after.x() - before.x()) <= 1 / view.zoom() and abs(after.y() - before.y()) <= 1 / view.zoom()
    z = view.zoom()
    qtbot.wait(1)
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent

    anchor = QPointF(250, 180)
    before = view.to_scene(anchor)
    ev = QWheelEvent(anchor, view.viewport().mapToGlobal(anchor), QPoint(0, 0), QPoint(0, 120),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    view.wheelEvent(ev)
    assert view.zoom() == pytest.approx(z * 1.25)
    after = view.to_scene(anchor)
    assert abs(after.x() - before.x()) <= 1 / view.zoom() and abs(after.y() - before.y()) <= 1 / view.zoom()
    assert window.status.zoom.text() == f"{view.zoom() * 100:.0f}%"


def test_current_image_and_view_restored_on_reopen(qtbot, window, aerial_folder, aerial_dir):
    project = open_aerial(window, aerial_folder, aerial_dir)
    second = project.image_names()[1]
    window.session.open_image(second)
    window.view.set_zoom(3.0)
    window.view.centerOn(QPointF(100, 120))
    centre = window.view.center()
    first = project.image_names()[0]
    window.session.open_image(first)
    assert window.view.zoom() != pytest.approx(3.0)  # the first image was never zoomed: fitted
    window.session.open_image(second)  # back: its zoom and centre come back within the session
    assert window.view.zoom() == pytest.approx(3.0)
    assert window.session.save()
    assert window.files.open_project(aerial_folder)  # reopen: the store now exists
    assert window.state.current_name == second
    assert window.view.zoom() == pytest.approx(3.0)
    assert abs(window.view.center().x() - centre.x()) < 1 and abs(window.view.center().y() - centre.y()) < 1


def test_export_coco_through_the_menu_function_reads_back(qtbot, window, nuclei_folder, tmp_path):
    gt = load_coco(tmp_path / "nuclei_gt.json")
    assert window.session.open_path(nuclei_folder, task="instance", classes=gt.classes)
    project = window.state.project
    for ann in gt.annotations:
        project.set_annotation(ann.file_name, ann)
    out = tmp_path / "export.json"
    job = window.files.export("coco-rle", out)
    wait_job(qtbot, job)
    coco = COCO(str(out))
    by_name = {img["file_name"]: img["id"] for img in coco.dataset["images"]}
    assert sorted(by_name) == project.image_names()
    for ann in gt.annotations:
        got = coco.loadAnns(coco.getAnnIds(imgIds=[by_name[ann.file_name]]))
        assert len(got) == len(ann.corrected.instances)
        for inst, g in zip(ann.corrected.instances, got):
            assert np.array_equal(coco.annToMask(g).astype(bool), inst.mask.to_full())


def test_export_selected_png(qtbot, window, aerial_folder, aerial_dir, tmp_path):
    from maskwork.core.formats.png import read_label_png

    project = open_aerial(window, aerial_folder, aerial_dir)
    stroke(qtbot, window, [view_pos(window, 40, 40), view_pos(window, 90, 70)])
    out = tmp_path / "png_out"
    job = window.files.export("png", out, [project.image_names()[0]])
    wait_job(qtbot, job)
    files = sorted(p.name for p in out.glob("*.png"))
    assert files == [project.image_names()[0]]
    assert np.array_equal(read_label_png(out / files[0]), label_map(window))


def test_import_png_masks_shows_them(qtbot, window, aerial_folder, aerial_dir, tmp_path):
    from PIL import Image

    open_aerial(window, aerial_folder, aerial_dir)
    job = window.files.import_("png", tmp_path / "aerial_masks")
    wait_job(qtbot, job)
    name = window.state.current_name
    expected = np.array(Image.open(tmp_path / "aerial_masks" / name))
    assert np.array_equal(label_map(window), expected)
    assert window.view.corrected_overlay.layer is window.state.annotation.corrected
    # the imported work is journaled like an edit: a crash right after the import keeps it
    assert window.state.project.journal.flush()
    recovered = Project.open(aerial_folder)
    for other in recovered.image_names():
        assert np.array_equal(recovered.annotation(other).corrected.label_map,
                              np.array(Image.open(tmp_path / "aerial_masks" / other)))


@pytest.mark.parametrize("answer", [messages.CANCEL, messages.DISCARD, messages.SAVE])
def test_closing_with_unsaved_work_asks(qtbot, window, aerial_folder, aerial_dir, monkeypatch, answer):
    project = open_aerial(window, aerial_folder, aerial_dir)
    stroke(qtbot, window, [view_pos(window, 30, 30), view_pos(window, 60, 50)])
    asked = []
    monkeypatch.setattr(messages, "ask_save", lambda parent, names: asked.append(names) or answer)
    del window.session.close_project  # the fixture's no-prompt patch is for teardown only
    closed = window.close()
    assert asked and asked[0] == [window.state.current_name]
    assert closed == (answer != messages.CANCEL)
    name = project.image_names()[0]
    assert project.annotation_path(name).exists() == (answer == messages.SAVE)
    assert project.journal.flush()
    # Discard means discard: no snapshot, no journal, nothing offered at the next start
    assert not project.journal_path(name).exists()
    assert project.journal.log_path(name).exists() == (answer == messages.CANCEL)
    if answer != messages.CANCEL:
        again = Project.open(project.root)
        assert again.recovered == [] and again.dirty == []


def test_autosave_is_recovered_after_a_crash(qtbot, window, aerial_folder, aerial_dir, monkeypatch):
    open_aerial(window, aerial_folder, aerial_dir)
    stroke(qtbot, window, [view_pos(window, 100, 100), view_pos(window, 150, 120)])
    painted = label_map(window).copy()
    window.session.autosave()  # what the 30 s timer does; then the app "crashes" (no save)
    assert window.session.autosaver.wait()  # the snapshot is written in a worker
    shown = []
    monkeypatch.setattr(messages, "show_info", lambda parent, title, text: shown.append(text))
    from maskwork.gui import docks
    from maskwork.gui.main_window import MainWindow

    monkeypatch.setattr(docks, "PANELS", [])
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.session.open_path(aerial_folder)
    name = second.state.current_name
    assert shown and name in shown[0]
    assert np.array_equal(second.state.annotation.corrected.label_map, painted)
    assert second.windowTitle().startswith("*")  # recovered work is unsaved until saved
    second.session.close_project = lambda: True


def test_a_stroke_is_recovered_from_the_journal_without_any_autosave(qtbot, window, aerial_folder, aerial_dir,
                                                                     monkeypatch):
    open_aerial(window, aerial_folder, aerial_dir)
    stroke(qtbot, window, [view_pos(window, 30, 30), view_pos(window, 60, 40)])
    stroke(qtbot, window, [view_pos(window, 100, 100), view_pos(window, 150, 120)])
    window.editor.undo.undo()  # the undo is an edit too (not back to the saved state: that would be clean)
    stroke(qtbot, window, [view_pos(window, 40, 60), view_pos(window, 90, 20)])
    painted = label_map(window).copy()
    assert window.state.project.journal.flush()  # what the writer does within a second; then a crash
    shown = []
    monkeypatch.setattr(messages, "show_info", lambda parent, title, text: shown.append(text))
    from maskwork.gui import docks
    from maskwork.gui.main_window import MainWindow

    monkeypatch.setattr(docks, "PANELS", [])
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.session.open_path(aerial_folder)
    name = second.state.current_name
    assert shown and name in shown[0] and "4 edit" in shown[0]
    assert np.array_equal(second.state.annotation.corrected.label_map, painted)
    assert second.windowTitle().startswith("*")
    second.session.close_project = lambda: True


def test_accept_prediction_is_undoable_and_keeps_the_prediction(qtbot, window, aerial_folder, aerial_dir, tmp_path):
    from PIL import Image

    open_aerial(window, aerial_folder, aerial_dir)
    ann = window.state.annotation
    truth = np.array(Image.open(tmp_path / "aerial_masks" / window.state.current_name))
    ann.prediction = Layer(label_map=truth.copy())
    window.state.prediction_changed.emit()
    window.actions_["accept"].trigger()
    assert np.array_equal(label_map(window), truth) and ann.status == Status.CORRECTED
    stroke(qtbot, window, [view_pos(window, 20, 20), view_pos(window, 200, 30)])
    assert not np.array_equal(label_map(window), truth)
    assert np.array_equal(ann.prediction.label_map, truth)  # corrections never touch the prediction
    window.actions_["undo"].trigger()
    window.actions_["undo"].trigger()
    assert ann.corrected.label_map is None and ann.status == Status.NOT_STARTED


def test_shortcuts_dialog_lists_every_action(qtbot, window):
    dialog = window.show_shortcuts()
    table = dialog.table
    listed = {table.item(r, 2).text() for r in range(table.rowCount())}
    for action in window.actions():
        if action.shortcut().toString():
            assert action.text().replace("&", "") in listed
        assert action.toolTip()


def test_missing_panel_is_skipped_with_a_message(qtbot, monkeypatch):
    from maskwork.gui import docks
    from maskwork.gui.main_window import MainWindow

    monkeypatch.setattr(docks, "PANELS", [docks.PanelSpec("maskwork.gui.panels.not_written_yet", "Nope", "Nope",
                                                          Qt.DockWidgetArea.RightDockWidgetArea, "")])
    win = MainWindow()
    qtbot.addWidget(win)
    assert win.panel_docks == {}
    assert "not installed yet" in win.skipped_panels[0]


def test_switching_image_autosaves_and_panels_can_request_an_image(qtbot, window, aerial_folder, aerial_dir):
    project = open_aerial(window, aerial_folder, aerial_dir)
    first, second = project.image_names()
    stroke(qtbot, window, [view_pos(window, 30, 30), view_pos(window, 60, 50)])
    assert not project.journal_path(first).exists()
    window.state.request_open(second)  # what the dataset panel does on a click
    assert window.state.current_name == second
    assert window.session.autosaver.wait()  # the snapshot is written in a worker (ADR 0012)
    assert project.journal_path(first).exists()


def test_drop_a_folder_opens_it_and_it_becomes_recent(qtbot, window, aerial_folder, aerial_dir, monkeypatch):
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDropEvent

    from maskwork.gui.controllers import session as session_module

    classes = aerial_classes(aerial_dir)
    monkeypatch.setattr(session_module, "ask_new_project", lambda parent, folder: ("semantic", classes))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(aerial_folder))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.state.project is not None and window.state.project.root == aerial_folder.resolve()
    assert window.state.project.task == "semantic"
    assert [a.text() for a in window.recent_menu.actions()] == [str(aerial_folder.resolve())]


def test_import_coco_never_overwrites_without_asking(qtbot, window, nuclei_folder, tmp_path, monkeypatch):
    errors = []
    monkeypatch.setattr(messages, "show_error", lambda parent, err, title="": errors.append(str(err)))
    gt = load_coco(tmp_path / "nuclei_gt.json")
    assert window.session.open_path(nuclei_folder, task="instance", classes=gt.classes)
    project = window.state.project
    first = project.image_names()[0]
    stroke(qtbot, window, [view_pos(window, 10, 10), view_pos(window, 30, 12)])  # own work on image 0
    mine = [i.mask for i in window.state.annotation.corrected.instances]
    job = window.files.import_("coco", tmp_path / "nuclei_gt.json")
    qtbot.waitUntil(lambda: job.outcome is not None, timeout=30000)
    assert job.outcome[0] == "failed" and first in errors[0] and "asks before replacing" in errors[0]
    assert [i.mask for i in project.annotation(first).corrected.instances] == mine  # all or nothing
    assert all(project.annotation(n).corrected.is_empty() for n in project.image_names() if n != first)
    wait_job(qtbot, window.files.import_("coco", tmp_path / "nuclei_gt.json", overwrite=True))
    for ann in gt.annotations:
        got = project.annotation(ann.file_name).corrected.instances
        assert [i.mask for i in got] == [i.mask for i in ann.corrected.instances]
    assert window.view.corrected_overlay.layer is window.state.annotation.corrected
    assert window.editor.undo.activeStack().count() == 0  # old strokes cannot be undone onto new masks


def test_open_project_refuses_a_plain_folder_with_a_clear_message(qtbot, window, aerial_folder, monkeypatch):
    errors = []
    monkeypatch.setattr(messages, "show_error", lambda parent, err, title="": errors.append(str(err)))
    assert not window.files.open_project(aerial_folder)
    assert window.state.project is None
    assert str(aerial_folder) in errors[0] and "Open folder" in errors[0]


def test_cancelled_export_writes_nothing(qtbot, window, aerial_folder, aerial_dir, tmp_path, monkeypatch):
    from maskwork.gui.controllers import file_ops

    open_aerial(window, aerial_folder, aerial_dir)
    real_start = file_ops.start
    monkeypatch.setattr(file_ops, "start", lambda job: (job.cancel(), real_start(job))[1])  # Cancel at once
    out = tmp_path / "never.json"
    job = window.files.export("coco-polygon", out, only_corrected=False)  # nothing is corrected yet
    qtbot.waitUntil(lambda: job.outcome is not None, timeout=30000)
    assert job.outcome[0] == "cancelled" and not out.exists()


def test_a_failed_save_keeps_the_work_and_offers_another_folder(qtbot, window, aerial_folder, aerial_dir,
                                                                tmp_path, monkeypatch):
    from maskwork.core.domain.errors import ProjectError
    from maskwork.gui.controllers import session as session_module

    project = open_aerial(window, aerial_folder, aerial_dir)
    stroke(qtbot, window, [view_pos(window, 30, 30), view_pos(window, 60, 50)])
    painted = label_map(window).copy()
    errors = []
    monkeypatch.setattr(messages, "show_error", lambda parent, err, title="": errors.append(str(err)))

    def read_only(names=None):
        raise ProjectError(f"cannot write {project.store}: read-only file system")

    monkeypatch.setattr(project, "save", read_only)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setattr(session_module.QFileDialog, "getExistingDirectory", lambda *a, **k: str(elsewhere))
    assert window.session.save()
    assert "read-only" in errors[0] and "Nothing is lost" in errors[0]
    assert project.store == elsewhere.resolve() / ".maskwork"
    from maskwork.core.store.project import Project

    reopened = Project.open(elsewhere)
    assert np.array_equal(reopened.annotation(window.state.current_name).corrected.label_map, painted)
