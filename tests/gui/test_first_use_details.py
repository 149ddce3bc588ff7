"""Issue 12, defect 12 (the smaller items) and the unsafe undo of "add class", on real images:
labels do not print over each other, Esc drops the selection, undo back to the save is saved again,
"1 image" not "1 images", a version in About, the app starts on a tool that does not paint, the
data folder is not Maskwork/Maskwork (and the old one moves), quitting does not wait for workers.
"""
from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QStandardPaths, Qt

from maskwork.core.domain.annotation import Instance, Layer
from maskwork.core.formats.coco import load_coco
from maskwork.gui.dialogs import messages
from tests.gui.window_helpers import aerial_classes, label_map, stroke, view_pos

ROOT = Path(__file__).resolve().parents[2]


def _open_nuclei_truth(window, nuclei_folder, tmp_path):
    gt = load_coco(tmp_path / "nuclei_gt.json")
    assert window.session.open_path(nuclei_folder, task="instance", classes=gt.classes)
    dense = max(gt.annotations, key=lambda a: len(a.corrected.instances))
    window.session.open_image(dense.file_name)
    window.state.annotation.corrected = Layer(instances=[Instance(i.id, i.class_id, i.mask, score=0.9)
                                                         for i in dense.corrected.instances])
    window.state.notify_edit(None)
    window.binding.rebuild_boxes()
    return window.state.annotation.corrected


def _shown_label_rects(window, zoom: float) -> list:
    window.view.set_zoom(zoom)
    out = []
    for item in window.view.boxes.childItems():
        if hasattr(item, "text") and item.isVisible():
            r = item.boundingRect()
            x, y = item.pos().x() * zoom, item.pos().y() * zoom
            out.append((x, y, x + r.width(), y + r.height()))
    return out


def test_dense_labels_never_print_over_each_other(qtbot, window, nuclei_folder, tmp_path):
    layer = _open_nuclei_truth(window, nuclei_folder, tmp_path)
    assert len(layer.instances) > 20
    for zoom in (2.0, 3.0, 4.0, 6.0):
        rects = _shown_label_rects(window, zoom)
        assert rects, f"no label at all at zoom {zoom}"
        for k, a in enumerate(rects):
            for b in rects[k + 1:]:
                assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (zoom, a, b)
    assert len(_shown_label_rects(window, 40.0)) == len(layer.instances)  # close up, every object has one


def test_escape_clears_the_selection(qtbot, window, nuclei_folder, tmp_path):
    layer = _open_nuclei_truth(window, nuclei_folder, tmp_path)
    window.toolbar.select("select")
    window.editor.set_selection([layer.instances[0].id, layer.instances[1].id])
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    assert window.editor.selected == [] and window.view.boxes.selected == set()


def test_undo_back_to_the_save_is_saved_again(qtbot, window, aerial_folder, aerial_dir):
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    stroke(qtbot, window, [view_pos(window, 40, 40), view_pos(window, 90, 70)])
    assert window.session.save() and window.status.unsaved.text() == "✓ saved"
    saved = label_map(window).copy()
    stroke(qtbot, window, [view_pos(window, 150, 150), view_pos(window, 200, 160)])
    assert window.status.unsaved.text() == "● 1 unsaved" and window.windowTitle().startswith("*")
    window.actions_["undo"].trigger()
    assert np.array_equal(label_map(window), saved)
    qtbot.waitUntil(lambda: window.status.unsaved.text() == "✓ saved")  # compared with the file in a worker
    assert not window.windowTitle().startswith("*") and window.state.project.dirty == []
    window.actions_["redo"].trigger()
    assert window.status.unsaved.text() == "● 1 unsaved"
    window.actions_["undo"].trigger()
    qtbot.waitUntil(lambda: window.status.unsaved.text() == "✓ saved")
    window.actions_["undo"].trigger()  # before the save: unsaved again (the file holds the first stroke)
    assert window.status.unsaved.text() == "● 1 unsaved"


def test_undo_to_the_save_stays_unsaved_after_a_model_run(qtbot, window, aerial_folder, aerial_dir):
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    stroke(qtbot, window, [view_pos(window, 40, 40), view_pos(window, 90, 70)])
    assert window.session.save()
    ann = window.state.annotation
    ann.prediction = Layer(label_map=np.full((ann.height, ann.width), 2, np.uint8))  # as a model run stores it
    window.state.project.mark_dirty(window.state.current_name)
    stroke(qtbot, window, [view_pos(window, 150, 150), view_pos(window, 200, 160)])
    window.actions_["undo"].trigger()
    tracker = window.clean_state
    qtbot.waitUntil(lambda: not tracker.jobs)  # the comparison with the saved file has answered
    assert window.state.project.dirty == [window.state.current_name]  # the prediction is not saved yet


def test_counts_read_one_image_not_one_images(qtbot, tmp_path, nuclei_val):
    from maskwork.gui.panels.dataset_panel import DatasetPanel
    from maskwork.gui.state import AppState
    from tests.gui.panels_support import make_nuclei_project, open_project

    project = make_nuclei_project(tmp_path / "p", nuclei_val, "semantic", n=2)
    ann = project.annotation(project.image_names()[0])
    ann.prediction = Layer(label_map=np.roll(ann.corrected.label_map, 3, axis=1))
    state = AppState()
    open_project(state, project)
    panel = DatasetPanel(state)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.jobs.busy_changed, timeout=60_000, check_params_cb=lambda busy: not busy):
        panel.refresh_button.click()
    assert panel.summary.text().startswith("1 image scored"), panel.summary.text()


def test_about_names_the_installed_version(qtbot, window, monkeypatch):
    shown = []
    monkeypatch.setattr(messages, "show_info", lambda parent, title, text: shown.append(text))
    window.actions_["about"].trigger()
    assert f"Maskwork {importlib.metadata.version('maskwork')}" in shown[0]


def test_the_app_starts_on_a_tool_that_does_not_paint(qtbot, monkeypatch, aerial_folder, aerial_dir):
    from maskwork.gui import docks
    from maskwork.gui.main_window import MainWindow
    from tests.gui.window_helpers import view_pos as pos

    monkeypatch.setattr(docks, "PANELS", [])
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    win.session.close_project = lambda: True
    assert win.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    assert win.view.tool.name == "pan" and win.toolbar.tool_actions["pan"].isChecked()
    win.view.set_zoom(3.0)
    before = win.view.horizontalScrollBar().value()
    stroke(qtbot, win, [pos(win, 60, 60), pos(win, 40, 60)])  # the first drag on the image
    assert win.state.annotation.corrected.is_empty() and win.state.project.dirty == []
    assert win.view.horizontalScrollBar().value() != before  # it moved the view instead


def test_data_folder_is_not_doubled_and_the_old_one_moves_up(qtbot, tmp_path, monkeypatch):
    from maskwork.gui.controllers import data_folder, samples

    share = tmp_path / "share"
    old = share / "Maskwork" / "Maskwork"  # what AppDataLocation gave with organisation and app "Maskwork"
    locations = {QStandardPaths.StandardLocation.GenericDataLocation: share,
                 QStandardPaths.StandardLocation.AppDataLocation: old}
    monkeypatch.setattr(QStandardPaths, "writableLocation", lambda kind: str(locations[kind]))
    (old / "samples" / "nuclei").mkdir(parents=True)
    (old / "samples" / "nuclei" / "my-work.txt").write_text("corrections")
    QSettings().setValue("recent_projects", [str(old / "samples" / "nuclei"), str(tmp_path / "elsewhere")])
    assert data_folder.data_folder() == share / "Maskwork"
    assert (share / "Maskwork" / "samples" / "nuclei" / "my-work.txt").read_text() == "corrections"
    assert not old.exists()
    assert QSettings().value("recent_projects") == [str(share / "Maskwork" / "samples" / "nuclei"),
                                                     str(tmp_path / "elsewhere")]
    if samples.SAMPLES.is_dir():  # the moved copy is used, not copied again
        assert samples.user_samples_folder() == share / "Maskwork" / "samples"
        assert (share / "Maskwork" / "samples" / "nuclei" / "my-work.txt").exists()


def test_an_old_folder_in_use_is_read_where_it_is(qtbot, tmp_path, monkeypatch):
    from maskwork.gui.controllers import data_folder

    share = tmp_path / "share"
    old = share / "Maskwork" / "Maskwork"
    monkeypatch.setattr(QStandardPaths, "writableLocation", lambda kind: str(
        share if kind == QStandardPaths.StandardLocation.GenericDataLocation else old))
    (old / "samples" / "nuclei" / ".maskwork").mkdir(parents=True)
    (old / "samples" / "nuclei" / ".maskwork" / "lock").write_text("another Maskwork")
    assert data_folder.data_folder() == old and (old / "samples" / "nuclei").is_dir()


def test_undoing_add_class_used_on_another_image_is_refused(qtbot, window, aerial_folder, aerial_dir):
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    first, second = window.state.project.image_names()
    window.classes_panel.add_class("shadow")
    shadow = window.state.project.classes.names().index("shadow")
    shadow_id = window.state.project.classes.ids()[shadow]
    window.session.open_image(second)
    window.state.set_current_class(shadow_id)
    stroke(qtbot, window, [view_pos(window, 40, 40), view_pos(window, 90, 70)])  # the class used on image 2
    window.session.open_image(first)
    said = []
    window.state.status_message.connect(said.append)
    window.actions_["undo"].trigger()  # the add was on image 1's stack
    assert shadow_id in window.state.project.classes.ids()
    assert any("shadow" in s and second in s for s in said), said
    assert window.session.save()  # nothing names a missing class
    window.session.open_image(second)
    window.actions_["undo"].trigger()  # the stroke goes
    window.session.open_image(first)
    window.actions_["undo"].trigger()  # now the class can go
    assert shadow_id not in window.state.project.classes.ids()


QUIT_CHILD = r"""
import sys, time
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from maskwork.gui import app as app_module, workers
from maskwork.gui.main_window import MainWindow
marker = Path(sys.argv[2])

def slow(progress=None, cancel=None):  # a model pass that does not look at Cancel for a long time
    time.sleep(20)
    marker.write_text("the quit waited for me")

def probe(_app):
    def ready():
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
        workers.start(workers.Job(slow))
        QTimer.singleShot(300, window.actions_["quit"].trigger)
    return ready

app_module._startup_probe = probe
sys.exit(app_module.run_app([sys.argv[1]]))
"""


def test_quitting_does_not_wait_for_a_running_worker(tmp_path, aerial_folder, aerial_dir):
    import os

    from maskwork.core.store.project import Project

    Project.create(aerial_folder, aerial_classes(aerial_dir), task="semantic").close()
    marker = tmp_path / "worker-finished"
    home = tmp_path / "home"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
               XDG_DATA_HOME=str(home / "data"))
    out = subprocess.run([sys.executable, "-c", QUIT_CHILD, str(aerial_folder), str(marker)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert not marker.exists(), "the quit waited for the worker to finish"
    assert not (aerial_folder / ".maskwork" / "lock").exists()  # the project was closed first
    settings = (home / "config" / "Maskwork" / "Maskwork.conf").read_text()
    assert str(aerial_folder.resolve()) in settings  # settings were written before the process ended
