"""Edit > Preferences (issue 12), the brush size as a number and the Image panel (brightness, contrast,
gamma), on real nuclei and aerial images: every change is stored in QSettings and applied at once."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from maskwork.core.formats.coco import load_coco
from maskwork.gui import preferences, theme
from maskwork.gui.panels.tone_panel import TonePanel
from tests.gui.window_helpers import aerial_classes


@pytest.fixture
def restore_theme():
    yield
    theme.apply("system")


def open_nuclei(window, nuclei_folder):
    gt = load_coco(nuclei_folder.parent / "nuclei_gt.json")
    assert window.session.open_path(nuclei_folder, task="instance", classes=gt.classes.copy())
    return gt


def test_each_preference_is_stored_and_applied_live(qtbot, window, nuclei_folder, restore_theme):
    gt = open_nuclei(window, nuclei_folder)
    dialog = window.features.open_preferences()
    qtbot.addWidget(dialog)
    w = dialog.widgets
    w["autosave_s"].setValue(12)
    assert window.session.timer.interval() == 12_000 and QSettings().value("preferences/autosave_s") == 12
    w["theme"].setCurrentText("dark")
    assert theme.current_is_dark() and QApplication.instance().style().name().lower() == "fusion"
    # labels: the score goes, then the labels go (View > Show labels follows)
    ann = gt.annotations[1]
    ann.corrected.instances[0].score = 0.87
    window.state.project.set_annotation(ann.file_name, ann)
    window.session.open_image(ann.file_name)
    label_texts = lambda: [t.text() for t in window.view.boxes.childItems() if hasattr(t, "text")]  # noqa: E731
    assert any(t.endswith("0.87") for t in label_texts())
    w["labels"].setCurrentText("class only")
    assert label_texts() and not any("0.87" in t for t in label_texts())
    w["labels"].setCurrentText("hidden")
    assert not window.actions_["show_labels"].isChecked() and label_texts() == []
    w["default_tool"].setCurrentText("Select (S)")
    assert window.view.tool.name == "select"  # a project is open: picked now
    w["review_pass"].setChecked(True)
    assert preferences.value("review_pass") is True
    dialog.close()
    # a second window starts with what was stored
    window.toolbar.select("brush")
    assert window.session.save()
    assert window.session.open_path(nuclei_folder)  # reopening: the preferred tool again
    assert window.view.tool.name == "select"
    dialog.restore_defaults()
    assert window.session.timer.interval() == 30_000 and not theme.current_is_dark()
    assert window.actions_["show_labels"].isChecked() and preferences.value("review_pass") is False


def test_default_tool_list_shows_the_toolbar_labels_and_stores_the_tool(qtbot, window, nuclei_folder):
    open_nuclei(window, nuclei_folder)
    dialog = window.features.open_preferences()
    qtbot.addWidget(dialog)
    combo = dialog.widgets["default_tool"]
    shown = [combo.itemText(k) for k in range(combo.count())]
    labels = [a.text() for a in window.toolbar.tool_actions.values()]  # what the toolbar says
    assert shown[0] == preferences.TOOL_DEFAULT_SHOWN and [t.split(" (")[0] for t in shown[1:]] == labels
    assert "Bounding box (Shift+G)" in shown and "SAM (J)" in shown
    assert not {"bbox", "sam", "select"} & set(shown)  # no internal names
    combo.setCurrentText("Bounding box (Shift+G)")
    assert QSettings().value("preferences/default_tool") == "bbox" and window.view.tool.name == "bbox"
    dialog.close()
    again = window.features.open_preferences()  # shown again by its label
    qtbot.addWidget(again)
    assert again.widgets["default_tool"].currentText() == "Bounding box (Shift+G)"


def test_a_tool_that_does_not_fit_the_task_is_skipped(qtbot, window, aerial_folder, aerial_dir):
    preferences.set_value("default_tool", "select", window)  # select is for instances only
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    assert window.view.tool.name != "select" and window.view.tool is not None


def test_unreadable_stored_values_fall_back_to_the_defaults():
    QSettings().setValue("preferences/autosave_s", "soon")
    QSettings().setValue("preferences/theme", "purple")
    QSettings().setValue("preferences/autosave_s_", 1)
    assert preferences.value("autosave_s") == 30 and preferences.value("theme") == "system"
    QSettings().setValue("preferences/autosave_s", 100000)
    assert preferences.value("autosave_s") == 600  # clamped to the allowed range


def test_brush_size_as_a_number(qtbot, window, nuclei_folder):
    open_nuclei(window, nuclei_folder)
    spin = window.toolbar.brush_size
    spin.setValue(37)
    assert window.editor.radius == 37 and window.toolbar.brush.value() == 37
    spin.setValue(250)  # past the slider's end
    assert window.editor.radius == 250 and window.toolbar.brush.value() == window.toolbar.brush.maximum()
    window.toolbar.select("brush")
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_BracketLeft)  # [ shrinks: the number follows
    assert spin.value() == window.editor.radius < 250


def pixmap_array(window) -> np.ndarray:
    """RGB of the picture the canvas draws (its BGRA buffer)."""
    return window.view.image_item._full.pixels[..., 2::-1]


def test_image_panel_brightens_the_view_only(qtbot, window, nuclei_folder):
    open_nuclei(window, nuclei_folder)
    panel = TonePanel(window.state, window)
    qtbot.addWidget(panel)
    data = window.state.image.copy()
    assert np.array_equal(pixmap_array(window), data)
    panel.sliders["gamma"].setValue(250)
    qtbot.waitUntil(lambda: not np.array_equal(pixmap_array(window), data))
    assert pixmap_array(window).mean() > 2 * data.mean()
    assert np.array_equal(window.state.image, data)  # the data itself never changes
    window.session.open_image(window.state.project.image_names()[1])  # the setting follows the images
    assert pixmap_array(window).mean() > 2 * window.state.image.mean()
    panel.reset_button.click()
    assert np.array_equal(pixmap_array(window), window.state.image)
    panel.auto_button.click()
    shown = pixmap_array(window).max(axis=2)
    assert np.percentile(shown, 99.5) >= 235  # stretched to white
