"""No stall on the GUI thread (issue 14): big images are decoded in a worker while the previous one stays
on screen and takes the edits; rapid switching ends on the last image chosen; autosave copies on the
GUI thread and encodes and writes in a worker. Real aerial images (1817 x 2061 tiles are above
gui.image_loader.SYNC_MAX_PIXELS, the 800 x 600 ones below)."""
from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from maskwork.core.domain.annotation import ClassList, ImageAnnotation
from maskwork.core.store import autosave
from maskwork.core.store.annotation_json import annotation_from_dict
from maskwork.core.store.project import Project
from maskwork.gui import image_loader

SMALL = "tile1_001.jpg"
BIG = ["tile7_001.jpg", "tile7_002.jpg", "tile7_003.jpg", "tile7_004.jpg"]


@pytest.fixture
def aerial_big(tmp_path, aerial_dir):
    folder = tmp_path / "aerial_big"
    folder.mkdir()
    for name in [SMALL, *BIG]:
        shutil.copy(aerial_dir / "images" / name, folder / name)
    classes = ClassList.from_list(json.loads((aerial_dir / "classes.json").read_text()))
    Project.create(folder, classes, task="semantic").close()
    return folder


@pytest.fixture
def on_threads(monkeypatch):
    """The thread names that decoded images (core.store.project calls core.store.images.read_image)."""
    import maskwork.core.store.project as project_module

    seen = []
    real = project_module.read_image

    def recording(path):
        seen.append(threading.current_thread() is threading.main_thread())
        return real(path)

    monkeypatch.setattr(project_module, "read_image", recording)
    return seen


def paint(window, x0, y0, x1, y1, class_id=3):
    window.state.set_current_class(class_id)
    window.editor.begin_stroke((x0, y0), erase=False)
    window.editor.stroke_to((x0, y0), (x1, y1))
    window.editor.end_stroke()


def test_a_big_image_is_decoded_in_a_worker_and_edits_go_to_the_image_shown(qtbot, window, aerial_big, on_threads):
    assert window.session.open_path(aerial_big)
    window.session.open_image(SMALL)
    assert window.state.current_name == SMALL and on_threads == [True]  # small: at once, as before
    small_ann = window.state.annotation

    assert window.session.open_image(BIG[0])
    assert window.state.current_name == SMALL  # still the previous image: nothing decoded here
    assert window.session.loader.note.isVisible() and BIG[0] in window.session.loader.note.text()
    paint(window, 10, 10, 60, 40)  # the user goes on painting what is on screen
    assert window.session.loader.wait()
    assert window.state.current_name == BIG[0] and window.state.image.shape[:2] == (2061, 1817)
    assert on_threads == [True, False]  # the big one was decoded off the GUI thread
    assert small_ann.corrected.label_map[20, 30] == 3  # the stroke went to the image it was painted on
    assert window.state.annotation.corrected.label_map is None  # and nothing reached the new one
    assert not window.session.loader.note.isVisible()
    assert window.view.image_item.has_image() and window.view.image_rect().width() == 1817


def test_the_switch_waits_for_a_stroke_in_progress(qtbot, window, aerial_big, monkeypatch):
    assert window.session.open_path(aerial_big)
    window.session.open_image(SMALL)
    small_ann = window.state.annotation
    loader = window.session.loader
    arrived = []
    real = loader._arrived
    monkeypatch.setattr(loader, "_arrived", lambda *args: (arrived.append(1), real(*args)))
    window.state.set_current_class(2)
    window.editor.begin_stroke((5, 5), erase=False)  # mouse down on the small image...
    window.session.open_image(BIG[1])                 # ...and D pressed meanwhile
    qtbot.waitUntil(lambda: len(arrived) >= 2, timeout=30000)  # decoded, and looked again a moment later
    assert window.state.current_name == SMALL  # held back while the mouse is down
    window.editor.stroke_to((5, 5), (50, 5))
    window.editor.end_stroke()
    qtbot.waitUntil(lambda: window.state.current_name == BIG[1], timeout=30000)
    assert small_ann.corrected.label_map[5, 30] == 2
    assert window.editor.undo._stacks[SMALL].count() == 1  # one undo step, on the image it was painted on


def test_rapid_switching_ends_on_the_last_image_chosen(qtbot, window, aerial_big, monkeypatch):
    monkeypatch.setattr(image_loader, "SYNC_MAX_PIXELS", 0)  # every image through the worker
    assert window.session.open_path(aerial_big)
    assert window.session.loader.wait()
    start = window.state.current_name
    shown = []
    window.state.image_changed.connect(shown.append)
    names = window.state.project.image_names()
    for _ in range(3):  # D, D, D faster than an image decodes
        window.session.step(+1, names)
    assert window.session.loader.wait()
    assert window.state.current_name == names[names.index(start) + 3]
    assert shown == [window.state.current_name]  # the images passed over were never shown
    for name in (BIG[3], SMALL, BIG[2]):  # clicks in the image list
        window.session.open_image(name)
    assert window.session.loader.wait() and window.state.current_name == BIG[2]


def test_an_image_replaced_while_it_loads_is_read_again(qtbot, window, aerial_big):
    assert window.session.open_path(aerial_big)
    window.session.open_image(SMALL)
    window.session.open_image(BIG[2])
    project = window.state.project
    imported = ImageAnnotation(BIG[2], 1817, 2061)
    imported.new_label_map(np.uint8)
    imported.corrected.label_map[:100, :100] = 4
    project.set_annotation(BIG[2], imported)  # e.g. an import finished meanwhile
    assert window.session.loader.wait()
    assert window.state.current_name == BIG[2] and window.state.annotation is imported


def test_a_damaged_big_image_says_why_and_keeps_the_current_one(qtbot, window, aerial_big, monkeypatch):
    from maskwork.gui.dialogs import messages

    data = (aerial_big / BIG[3]).read_bytes()
    (aerial_big / BIG[3]).write_bytes(data[: len(data) // 3])  # a copy cut short: header fine, pixels missing
    errors = []
    monkeypatch.setattr(messages, "show_error", lambda parent, error, title="Maskwork": errors.append(str(error)))
    assert window.session.open_path(aerial_big)
    window.session.open_image(SMALL)
    window.session.open_image(BIG[3])
    assert window.session.loader.wait()
    assert window.state.current_name == SMALL
    assert errors and BIG[3] in errors[0]


def test_autosave_copies_here_and_writes_in_a_worker(qtbot, window, aerial_big, monkeypatch):
    writers = []
    real = autosave.write_bytes_atomic
    monkeypatch.setattr(autosave, "write_bytes_atomic",
                        lambda path, data: (writers.append(threading.current_thread() is threading.main_thread()),
                                            real(path, data))[1])
    assert window.session.open_path(aerial_big)
    window.session.open_image(BIG[0])
    assert window.session.loader.wait()
    paint(window, 100, 100, 300, 120, class_id=1)
    project = window.state.project
    captured = window.state.annotation.corrected.label_map.copy()
    mark = project.journal.mark(BIG[0])
    window.session.autosave()
    paint(window, 100, 400, 300, 420, class_id=5)  # painted while the snapshot is being written
    assert window.session.autosaver.wait()
    assert writers == [False]  # encoded and written off the GUI thread
    doc = json.loads(project.journal_path(BIG[0]).read_bytes())
    snap = annotation_from_dict(doc, "snapshot")
    assert np.array_equal(snap.corrected.label_map, captured)  # the state at the autosave, not later strokes
    assert doc["journal"] == mark  # ...marked with what of the crash journal it holds
    assert window.state.annotation.corrected.label_map[410, 200] == 5  # the later stroke is in memory...
    assert project.journal.flush()
    assert project.journal.log_path(BIG[0]).exists()  # ...and in the crash journal, replayed over the snapshot


def test_save_and_discard_wait_for_the_snapshot(qtbot, window, aerial_big, monkeypatch):
    from maskwork.gui.dialogs import messages

    assert window.session.open_path(aerial_big)
    window.session.open_image(SMALL)
    paint(window, 10, 10, 100, 20)
    window.session.autosave()
    del window.session.close_project  # the real close: asks, the test answers Discard
    monkeypatch.setattr(messages, "ask_save", lambda parent, names: messages.DISCARD)
    project = window.state.project
    assert window.session.close_project()
    assert not (project.store / "autosave" / "annotations").exists()  # nothing written after the Discard
    assert Project.open(aerial_big, read_only=True).dirty == []


def test_the_prepared_canvas_equals_the_one_drawn_here(qtbot, window, aerial_big, aerial_dir, monkeypatch):
    """What the worker renders (image, overlay tiles) is what the GUI thread would have drawn."""
    assert window.session.open_path(aerial_big)
    project = window.state.project
    ann = project.annotation(BIG[0])
    ann.corrected.label_map = np.array(Image.open(aerial_dir / "masks" / "tile7_001.png"))
    window.session.open_image(BIG[0])
    assert window.session.loader.wait()
    made = window.view.corrected_overlay.pixels(0, 0, 1817, 2061)
    window.binding.reset_overlays()  # the same layer rendered on the GUI thread
    assert np.array_equal(window.view.corrected_overlay.pixels(0, 0, 1817, 2061), made)
    assert made[..., 3].any()


def test_the_iou_of_a_big_image_is_counted_in_a_worker_with_the_edits_made_meanwhile(qtbot, window, aerial_big,
                                                                                  aerial_dir, monkeypatch):
    from maskwork.core.domain.annotation import Layer
    from maskwork.core.metrics.live_iou import LiveIoU
    from maskwork.gui.panels import iou_builder
    from maskwork.gui.panels.iou_panel import IoUPanel

    counted, painted = threading.Event(), threading.Event()
    real_build = iou_builder._build

    def slow_build(ann, classes):  # counts before the strokes below, answers after them
        live = real_build(ann, classes)
        counted.set()
        painted.wait(30)
        return live

    monkeypatch.setattr(iou_builder, "_build", slow_build)
    panel = IoUPanel(window.state, window)
    assert window.session.open_path(aerial_big)
    project = window.state.project
    truth = np.array(Image.open(aerial_dir / "masks" / "tile7_001.png"))
    project.annotation(BIG[0]).corrected.label_map = truth.copy()
    window.session.open_image(BIG[0])
    assert window.session.loader.wait()
    ann = window.state.annotation
    ann.prediction = Layer(np.roll(truth, 25, axis=0))  # a model's result arrives
    window.state.prediction_changed.emit()
    assert panel.builder.busy  # counted in a worker, not here
    assert counted.wait(30)
    paint(window, 50, 300, 900, 340, class_id=5)  # painted while it counts
    paint(window, 600, 1200, 1500, 1260, class_id=2)
    painted.set()
    qtbot.waitUntil(lambda: not panel.builder.busy and panel.live is not None, timeout=30000)
    fresh = LiveIoU(ann, project.classes)  # counted now, after both strokes
    assert panel.row_values() == {r.key: r.iou for r in fresh.rows()}
    assert panel.mean_iou == pytest.approx(fresh.mean_iou)
