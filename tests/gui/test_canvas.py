"""Canvas: overlays in class / instance colours, repaint limited to the edit's box, toggles, pan."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from maskwork.core.editing import brush_segment
from maskwork.core.formats.coco import load_coco
from maskwork.core.view.render import FILL_ALPHA, OUTLINE_ALPHA, bgra_lut, instance_rgb, render_window
from tests.gui.window_helpers import aerial_classes, hover, label_map, view_pos


def open_aerial(window, aerial_folder, aerial_dir, tmp_path):
    from PIL import Image

    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    window.state.annotation.corrected.label_map = np.array(
        Image.open(tmp_path / "aerial_masks" / window.state.current_name))
    window.state.notify_edit(None)


def test_semantic_overlay_shows_class_colours(window, aerial_folder, aerial_dir, tmp_path):
    open_aerial(window, aerial_folder, aerial_dir, tmp_path)
    lm = label_map(window)
    h, w = lm.shape
    bgra = window.view.corrected_overlay.pixels(0, 0, w, h)
    classes = window.state.project.classes
    for cid in np.unique(lm):
        sel = lm == cid
        if cid == 0:
            assert (bgra[sel][:, 3] == 0).all()  # unlabeled stays transparent
            continue
        r, g, b = classes.get(int(cid)).rgb
        a = bgra[sel][0, 3] / 255
        assert np.allclose(bgra[sel][:, :3], [round(b * a), round(g * a), round(r * a)], atol=1)


def test_an_edit_repaints_only_its_box(qtbot, window, aerial_folder, aerial_dir, tmp_path):
    open_aerial(window, aerial_folder, aerial_dir, tmp_path)
    overlay = window.view.corrected_overlay
    layer = window.state.annotation.corrected
    h, w = label_map(window).shape
    rendered = overlay.rendered_pixels
    edit = brush_segment(layer, (100, 100), (120, 110), 4, 3)
    window.state.notify_edit(edit.bbox)
    x0, y0, x1, y1 = edit.bbox
    assert overlay.rendered_pixels - rendered == (x1 - x0) * (y1 - y0)  # not h * w
    fresh = render_window(layer, (0, 0, w, h), overlay.lut)
    assert np.array_equal(overlay.pixels(0, 0, w, h), fresh)


def test_instances_have_distinct_outlined_colours_boxes_and_labels(qtbot, window, nuclei_folder, tmp_path):
    gt = load_coco(tmp_path / "nuclei_gt.json")
    assert window.session.open_path(nuclei_folder, task="instance", classes=gt.classes)
    ann = gt.annotations[0]
    ann.corrected.instances[0].score = 0.87
    window.state.project.set_annotation(ann.file_name, ann)
    window.session.open_image(gt.annotations[1].file_name)
    window.session.open_image(ann.file_name)
    layer = window.state.annotation.corrected
    bgra = window.view.corrected_overlay.pixels(0, 0, ann.width, ann.height)
    covered = np.zeros((ann.height, ann.width), bool)
    for inst in reversed(layer.instances):  # later instances are drawn on top
        full = inst.mask.to_full()
        padded = np.pad(full, 1)
        interior = full & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
        r, g, b = instance_rgb(inst.id)
        for region, alpha in ((full & ~interior & ~covered, OUTLINE_ALPHA), (interior & ~covered, FILL_ALPHA)):
            expected = [round(b * alpha), round(g * alpha), round(r * alpha), round(255 * alpha)]
            assert (bgra[region] == expected).all()
        covered |= full
    assert (bgra[~covered] == 0).all()
    assert len({instance_rgb(i.id) for i in layer.instances}) == len(layer.instances)
    qtbot.wait(150)  # boxes are rebuilt on a short timer
    window.view.set_zoom(40.0)  # labels show on boxes wide enough on screen
    texts = [c.text() for c in window.view.boxes.childItems() if hasattr(c, "text") and c.isVisible()]
    assert len(texts) == len(layer.instances) and "nucleus 0.87" in texts
    window.view.set_zoom(0.05)
    assert not [c for c in window.view.boxes.childItems() if hasattr(c, "text") and c.isVisible()]
    window.actions_["show_labels"].trigger()
    assert not [c for c in window.view.boxes.childItems() if hasattr(c, "text")]
    window.actions_["show_boxes"].trigger()
    assert window.view.boxes.childItems() == []


def test_layer_toggles_and_opacity(qtbot, window, aerial_folder, aerial_dir, tmp_path):
    open_aerial(window, aerial_folder, aerial_dir, tmp_path)
    view = window.view
    window.actions_["show_corrected"].trigger()
    assert not view.corrected_overlay.isVisible()
    window.actions_["show_corrected"].trigger()
    assert view.corrected_overlay.isVisible()
    window.actions_["show_prediction"].trigger()
    assert not view.prediction_overlay.isVisible()
    window.toolbar.opacity.setValue(30)
    assert view.corrected_overlay.opacity() == pytest.approx(0.3)
    qtbot.keyClick(window.view, Qt.Key.Key_O)
    assert view.corrected_overlay.opacity() == pytest.approx(0.4)


def test_pan_with_middle_button_and_fit(qtbot, window, aerial_folder, aerial_dir, tmp_path):
    open_aerial(window, aerial_folder, aerial_dir, tmp_path)
    view = window.view
    view.set_zoom(4.0)
    view.centerOn(160, 160)
    before = view.center()
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.MiddleButton, pos=view_pos(window, 160, 160))
    qtbot.mouseMove(vp, view_pos(window, 150, 155))
    qtbot.mouseRelease(vp, Qt.MouseButton.MiddleButton, pos=view_pos(window, 150, 155))
    after = view.center()
    assert after.x() == pytest.approx(before.x() + 10, abs=0.5) and after.y() == pytest.approx(before.y() + 5, abs=0.5)
    window.actions_["fit"].trigger()
    rect = view.mapToScene(vp.rect()).boundingRect()
    assert rect.contains(view.image_rect().adjusted(1, 1, -1, -1))
    window.actions_["actual"].trigger()
    assert view.zoom() == pytest.approx(1.0)


def test_status_bar_shows_cursor_class_and_unsaved(qtbot, window, aerial_folder, aerial_dir, tmp_path):
    open_aerial(window, aerial_folder, aerial_dir, tmp_path)
    lm = label_map(window)
    y, x = np.argwhere(lm == 3)[0]
    hover(window.view.viewport(), view_pos(window, x + 0.5, y + 0.5))
    assert window.status.position.text() == f"x {x}, y {y}"
    assert window.status.klass.text() == "road"
    assert "unsaved" in window.status.unsaved.text() and window.windowTitle().startswith("*")
    window.session.save()
    assert window.status.unsaved.text() == "✓ saved" and not window.windowTitle().startswith("*")


def test_bgra_lut_uses_class_colours(aerial_dir):
    classes = aerial_classes(aerial_dir)
    lut = bgra_lut(classes, alpha=1.0)
    for c in classes:
        if c.id:
            assert tuple(lut[c.id][:3][::-1]) == c.rgb and lut[c.id][3] == 255
    assert (lut[0] == 0).all()
