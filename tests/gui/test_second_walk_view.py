"""Issue 18, section 3 ("What the second walk met"), the view items: text and icons that read in the dark
theme, docks that content does not widen, room for the Objects list, and the headlines' names."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QComboBox

from maskwork.core.domain.annotation import Instance, Layer, PredictionInfo
from maskwork.core.domain.masks import Mask
from maskwork.gui import theme
from maskwork.gui.panels.iou_panel import IoUPanel
from maskwork.gui.panels.objects_panel import EYE, LOCK, SOURCE
from maskwork.gui.state import AppState
from tests.gui.objects_support import inside, look_at, open_holed_nuclei
from tests.gui.panels_support import make_nuclei_project, make_tiny_model, open_image, open_project
from tests.gui.window_helpers import stroke, view_pos

TEXT_CONTRAST = 4.5  # WCAG AA for text
ICON_CONTRAST = 3.0  # WCAG AA for graphics


@pytest.fixture
def themed():
    """Switch the running app's theme like Edit > Preferences does; the system look comes back after."""
    yield theme.apply
    theme.apply("system")


@pytest.fixture
def full_window(qtbot, tmp_path, nuclei_val):
    """The main window with every docked panel, at a laptop's size, on a nuclei project whose images
    have a correction (the truth) and a prediction (the truth shifted)."""
    from maskwork.gui.main_window import MainWindow

    project = make_nuclei_project(tmp_path / "p", nuclei_val, "instance", n=2)
    for name in project.image_names():
        ann = project.annotation(name)
        ann.prediction = shifted_prediction(ann)
        project.mark_dirty(name)
    project.save()
    project.close()
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1280, 720)
    win.show()
    qtbot.waitExposed(win)
    win.session.close_project = lambda: True
    assert win.session.open_path(tmp_path / "p")
    win.view.fit()
    QApplication.processEvents()
    return win


def shifted_prediction(ann, shift: int = 2) -> Layer:
    """The truth moved sideways by `shift` px: a prediction with a spread of IoUs."""
    return Layer(instances=[Instance(100 + i.id, i.class_id, Mask.from_full(np.roll(i.mask.to_full(), shift, 1)), 0.9)
                            for i in ann.corrected.instances])


def _cell_colours(table, r: int, c: int) -> tuple[QColor, QColor]:
    item = table.item(r, c)
    fg = item.foreground()
    text = fg.color() if fg.style() != Qt.BrushStyle.NoBrush else table.palette().color(QPalette.ColorRole.Text)
    return text, item.background().color()


@pytest.mark.parametrize("name", ["light", "dark"])
def test_iou_numbers_read_on_their_shade_in_both_themes(qtbot, tmp_path, nuclei_val, themed, name):
    project = make_nuclei_project(tmp_path / "p", nuclei_val, "instance", n=1)
    state = AppState()
    open_project(state, project)
    image = project.image_names()[0]
    ann = project.annotation(image)
    ann.prediction = shifted_prediction(ann)
    open_image(state, image)
    panel = IoUPanel(state)
    qtbot.addWidget(panel)
    themed(name)  # switched live, as in Preferences, with the panel already showing its numbers
    QApplication.processEvents()
    assert panel.table.rowCount() > 10
    for r in range(panel.table.rowCount()):
        text, shade = _cell_colours(panel.table, r, 1)
        assert theme.contrast(text, shade) >= TEXT_CONTRAST, (name, r, text.name(), shade.name())
    assert (theme.luminance(_cell_colours(panel.table, 0, 1)[1]) < 0.2) == (name == "dark")  # no glare


def _icon_contrast(icon: QIcon, base: QColor) -> float:
    """Contrast of an icon's strokes (its most opaque pixels, laid over `base`) with `base`."""
    image = icon.pixmap(32, 32).toImage()
    pixels = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())]
    alpha = max(p.alphaF() for p in pixels)
    ink = next(p for p in pixels if p.alphaF() == alpha)
    over = QColor.fromRgbF(*(a * ink.alphaF() + b * (1 - ink.alphaF()) for a, b in
                             ((ink.redF(), base.redF()), (ink.greenF(), base.greenF()), (ink.blueF(), base.blueF()))))
    return theme.contrast(over, base)


@pytest.mark.parametrize("name", ["light", "dark"])
def test_eyes_and_padlocks_read_in_both_themes(qtbot, window, objects_dock, nuclei_val, tmp_path, themed, name):
    open_holed_nuclei(window, nuclei_val, tmp_path)
    panel = objects_dock
    first = panel.tree.topLevelItem(0).child(0)
    panel.toggle(first.data(0, Qt.ItemDataRole.UserRole), EYE)  # one hidden object: a crossed-out (faint) eye
    themed(name)
    QApplication.processEvents()
    base = panel.tree.palette().color(QPalette.ColorRole.Base)
    items = [panel.tree.topLevelItem(0).child(k) for k in range(2)]
    assert [i.data(0, Qt.ItemDataRole.UserRole).hidden for i in items] == [True, False]
    for item in items:
        for col in (EYE, LOCK):  # open eye, crossed-out eye, open padlock
            assert _icon_contrast(item.icon(col), base) >= ICON_CONTRAST, (name, col, base.name())


def test_a_box_only_object_does_not_widen_the_right_docks(qtbot, full_window):
    win = full_window
    iou_dock, panel = win.panel_docks["IoU"], win.panel_docks["IoU"].widget()
    widths = {title: d.width() for title, d in win.panel_docks.items() if not d.isFloating()}
    canvas = win.view.width()
    before = panel.mean_label.text()
    win.view.setFocus()
    qtbot.keyClick(win.view, Qt.Key.Key_G, Qt.KeyboardModifier.ShiftModifier)  # the box tool
    assert win.view.tool.name == "bbox"
    stroke(qtbot, win, [view_pos(win, 40.5, 50.5), view_pos(win, 70.5, 70.5), view_pos(win, 90.5, 80.5)])
    qtbot.waitUntil(lambda: "box-only" in panel.mean_label.text())
    QApplication.processEvents()
    assert len(panel.mean_label.text()) > len(before) + 30  # the headline did grow
    assert iou_dock.width() == widths["IoU"] and win.view.width() == canvas
    assert {title: d.width() for title, d in win.panel_docks.items() if title in widths} == widths
    label = panel.mean_label
    assert label.width() <= iou_dock.width() and label.heightForWidth(label.width()) <= label.height()  # all shown


def test_the_objects_list_has_room_for_eight_rows(qtbot, full_window):
    tree = full_window.panel_docks["Objects"].widget().tree
    assert tree.topLevelItemCount() and tree.sizeHintForRow(0) > 0
    assert tree.viewport().height() >= 4 * tree.sizeHintForRow(0)  # a 720-pixel-high window: still a list
    full_window.resize(1500, 950)  # the first-start size on a desktop screen
    qtbot.waitUntil(lambda: tree.viewport().height() >= 8 * tree.sizeHintForRow(0))
    desktop = tree.viewport().height()
    full_window.resize(1600, 1000)  # a taller window: the lists get the room, not the Model panel's blank
    qtbot.waitUntil(lambda: tree.viewport().height() > desktop)
    model = full_window.panel_docks["Model"].widget()
    assert model.height() <= model.sizeHint().height()


def _source_shown(panel, instance_id: int) -> str:
    panel.refresh()  # what the batched refresh after a stroke shows
    for k in range(panel.tree.topLevelItem(0).childCount()):
        item = panel.tree.topLevelItem(0).child(k)
        if item.data(0, Qt.ItemDataRole.UserRole).id == instance_id:
            return item.text(SOURCE)
    raise AssertionError(f"no row for #{instance_id}")


def test_a_model_object_painted_by_hand_is_listed_by_hand_and_undo_gives_model_back(qtbot, window, objects_dock,
                                                                                   nuclei_val, tmp_path):
    open_holed_nuclei(window, nuclei_val, tmp_path, score_every=1)  # every object as accepted from a model
    layer = window.state.annotation.corrected
    target = max(layer.instances, key=lambda i: i.mask.area)
    assert _source_shown(objects_dock, target.id) == "model"
    cx, cy = inside(target.mask)
    look_at(window, cx, cy, zoom=4)
    window.editor.set_selection([target.id])
    qtbot.keyClick(window.view, Qt.Key.Key_B)
    area = target.mask.area
    stroke(qtbot, window, [view_pos(window, cx + dx, cy + dx // 10) for dx in (0, 30, 45)])  # from inside out
    edited = layer.instance(target.id)
    assert edited.mask.area > area and edited.score == target.score
    assert _source_shown(objects_dock, target.id) == "by hand"
    assert {_source_shown(objects_dock, i.id) for i in layer.instances if i.id != target.id} == {"model"}
    window.editor.undo.undo()
    assert layer.instance(target.id).mask.area == area and _source_shown(objects_dock, target.id) == "model"
    window.editor.undo.redo()
    assert _source_shown(objects_dock, target.id) == "by hand"
    assert window.session.save()
    again = window.state.project.annotation(window.state.current_name)
    assert again.corrected.instance(target.id).source.value == "person"


def test_last_run_describes_the_stored_prediction_of_the_image_on_screen(qtbot, tmp_path, nuclei_val, isolated_config):
    from maskwork.core.store.project import Project
    from maskwork.gui.panels.model_panel import ModelPanel

    stored = make_nuclei_project(tmp_path / "stored", nuclei_val, "semantic", n=2)
    first, second = stored.image_names()
    ann = stored.annotation(first)
    ann.prediction = Layer(label_map=np.roll(ann.corrected.label_map, 3, axis=1))
    ann.prediction_info = PredictionInfo(model="unet-nuclei", int8=True, latency_ms=41.6)
    stored.mark_dirty(first)
    stored.save()
    stored.close()
    other = make_nuclei_project(tmp_path / "other", nuclei_val, "semantic", n=1)
    model = make_tiny_model(tmp_path, "semantic", "tiny-semantic")
    state = AppState()
    panel = ModelPanel(state)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.combo.findData(model) >= 0, timeout=120_000)
    panel.select_model(model)
    open_project(state, other)
    open_image(state, other.image_names()[0])
    with qtbot.waitSignal(state.prediction_changed, timeout=120_000):
        panel.run_button.click()
    assert "tiny-semantic" in panel.latency_label.text() and "float" in panel.latency_label.text()
    other.close()

    open_project(state, Project.open(tmp_path / "stored"))  # as after a restart: read from disk
    open_image(state, first)
    assert panel.latency_label.text() == "42 ms (int8, unet-nuclei)"
    open_image(state, second)
    assert "tiny-semantic" not in panel.latency_label.text() and "no prediction" in panel.latency_label.text()
    state.project.close()


@pytest.mark.parametrize("task", ["instance", "semantic"])
def test_the_dataset_tab_and_the_iou_tab_speak_of_one_headline(qtbot, tmp_path, nuclei_val, task):
    from maskwork.core.metrics import match_instances
    from maskwork.core.metrics.instances import panoptic_quality
    from maskwork.gui.panels.dataset_panel import DatasetPanel

    project = make_nuclei_project(tmp_path / "p", nuclei_val, task, n=2)
    for shift, name in zip((2, 5), project.image_names()):
        ann = project.annotation(name)
        ann.prediction = (shifted_prediction(ann, shift) if task == "instance"
                          else Layer(label_map=np.roll(ann.corrected.label_map, shift, axis=1)))
    state = AppState()
    open_project(state, project)
    iou, table = IoUPanel(state), DatasetPanel(state)
    qtbot.addWidget(iou)
    qtbot.addWidget(table)
    headlines = {}
    for name in project.image_names():
        open_image(state, name)
        headlines[name] = iou.headline
    with qtbot.waitSignal(table.jobs.busy_changed, timeout=60_000, check_params_cb=lambda busy: not busy):
        table.refresh_button.click()
    metric = {"instance": "PQ", "semantic": "mean IoU"}[task]
    assert {h[0] for h in headlines.values()} == {metric}
    assert table.model.headerData(1, Qt.Orientation.Horizontal).lower() == metric.lower()
    for r, score in enumerate(table.model.scores):  # each row: the IoU tab's number for that image
        assert table.model.value(r, 1) == pytest.approx(headlines[score.name][1])
    if task == "instance":  # the dataset line pools every image's objects
        matches = [match_instances([i.mask for i in a.corrected.instances], [i.mask for i in a.prediction.instances])
                   for a in map(project.annotation, project.image_names())]
        pooled = panoptic_quality([v for m in matches for _g, _p, v in m.pairs], sum(m.num_gt for m in matches),
                                  sum(m.num_pred for m in matches))
        assert f"dataset PQ {pooled:.3f}" in table.summary.text()
    else:
        assert "dataset mean IoU" in table.summary.text()
    assert "panoptic quality" in table.summary.toolTip() and "mean IoU" in table.summary.toolTip()


def test_a_list_filter_never_hides_the_image_on_screen_and_ends_with_its_project(qtbot, window, nuclei_folder,
                                                                                  aerial_folder, aerial_dir):
    from maskwork.core.formats.coco import load_coco
    from tests.gui.window_helpers import aerial_classes

    assert window.session.open_path(nuclei_folder, task="instance",
                                    classes=load_coco(nuclei_folder.parent / "nuclei_gt.json").classes.copy())
    images, names = window.image_list, window.state.project.image_names()
    images.review_combo.setCurrentText("Not reviewed")
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_R)  # marked reviewed while the list shows only the others
    assert window.state.current_name == names[0] and images.visible_names() == names
    assert images.view.currentIndex().data(Qt.ItemDataRole.UserRole + 1) == names[0]  # still the selected row
    window.actions_["next"].trigger()  # D: on to the next image; the reviewed one leaves the list now
    assert window.state.current_name == names[1] and images.visible_names() == names[1:]
    images.state_combo.setCurrentText("corrected")  # no image is corrected: only the one on screen is left
    assert images.visible_names() == [names[1]]

    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    assert images.review_combo.currentText() == "Reviewed or not" and images.state_combo.currentText() == "All states"
    assert images.visible_names() == window.state.project.image_names() and len(images.visible_names()) == 2


def test_brightness_and_contrast_are_reached_from_the_view_menu(qtbot, full_window):
    win = full_window
    image = win.panel_docks["Image"]
    assert image.widget().visibleRegion().isEmpty()  # tabbed behind the IoU panel: out of sight
    action = {a.text().replace("&", ""): a for a in win.menus["View"].actions()}["Brightness / contrast…"]
    action.trigger()
    QApplication.processEvents()
    assert image.isVisible() and not image.widget().visibleRegion().isEmpty()
    assert win.panel_docks["IoU"].widget().visibleRegion().isEmpty()  # the Image tab is in front now
    image.close()
    win.actions_["tone"].trigger()  # closed: the same entry brings it back
    QApplication.processEvents()
    assert image.isVisible() and not image.widget().visibleRegion().isEmpty()
    assert action.shortcut().toString() == "Ctrl+B"


def _headers(panel) -> list[str]:
    return [panel.table.horizontalHeaderItem(c).text() for c in range(panel.table.columnCount())]


def test_a_semantic_project_shows_class_columns_before_the_first_accept(qtbot, tmp_path, nuclei_val):
    semantic = make_nuclei_project(tmp_path / "s", nuclei_val, "semantic", n=1)
    name = semantic.image_names()[0]
    ann = semantic.annotation(name)
    ann.prediction, ann.corrected = Layer(label_map=np.roll(ann.corrected.label_map, 3, axis=1)), Layer()
    instance = make_nuclei_project(tmp_path / "i", nuclei_val, "instance", n=1)
    objects = instance.annotation(instance.image_names()[0])
    objects.prediction = shifted_prediction(objects)
    state = AppState()
    panel = IoUPanel(state)
    qtbot.addWidget(panel)
    open_project(state, instance)
    open_image(state, instance.image_names()[0])
    assert _headers(panel) == ["instance", "IoU", "matched prediction"] and panel.table.rowCount() > 10
    open_project(state, semantic)
    open_image(state, name)  # a prediction, nothing accepted yet
    assert panel.table.rowCount() == 0 and "Accept the prediction" in panel.hint.text()
    assert _headers(panel) == ["class", "IoU", "pixels truth / pred"]
    ann.accept_prediction()
    state.notify_edit(None)
    assert _headers(panel) == ["class", "IoU", "pixels truth / pred"] and panel.table.rowCount() == 2


def test_the_export_dialog_offers_no_one_item_list(qtbot, window, nuclei_folder):
    from maskwork.core.formats.coco import load_coco
    from maskwork.gui.dialogs.export_dialog import ExportDialog

    assert window.session.open_path(nuclei_folder, task="instance",
                                    classes=load_coco(nuclei_folder.parent / "nuclei_gt.json").classes.copy())
    project = window.state.project
    for selected in (0, 1, 2):
        dialog = ExportDialog(project, selected, window)
        qtbot.addWidget(dialog)
        combos = [w for w in dialog.findChildren(QComboBox) if w.isVisibleTo(dialog)]
        assert all(c.count() > 1 for c in combos), (selected, [c.currentText() for c in combos])
        form = dialog.layout()
        row = next(r for r in range(form.rowCount()) if form.itemAt(r, form.ItemRole.LabelRole) is not None
                   and form.itemAt(r, form.ItemRole.LabelRole).widget().text() == "Images")
        field = form.itemAt(row, form.ItemRole.FieldRole).widget()
        if selected < 2:  # nothing to choose: the row says what is exported and how to pick fewer
            assert field.text() == f"All {len(project.image_names())} images"
            assert "select several" in field.toolTip().lower()
        else:
            assert field is dialog.scope and dialog.scope.itemData(1) == "selected"
        dialog.scope.setCurrentIndex(dialog.scope.count() - 1)
        assert dialog.scope.currentData() == ("selected" if selected == 2 else "all")


def test_preferences_explain_themselves(qtbot, window):
    from maskwork.gui import preferences

    dialog = window.features.open_preferences()
    qtbot.addWidget(dialog)
    form = dialog.layout().itemAt(0).layout()
    for pref in preferences.PREFS:
        widget = dialog.widgets[pref.key]
        assert form.labelForField(widget).toolTip() == widget.toolTip() == pref.tooltip and len(pref.tooltip) > 40
    tools = dialog.widgets["default_tool"]
    shown = [tools.itemText(k) for k in range(tools.count())]
    assert "as Maskwork starts" not in shown and shown[0] == "Keep the tool in use"
    assert "Pan (H)" in tools.toolTip() and "Keep the tool in use" in tools.toolTip()
    review = dialog.widgets["review_pass"]
    assert "next unreviewed image" in review.text()
    tools.setCurrentIndex(0)  # the saved value is still the one settings already hold
    assert preferences.value("default_tool") == preferences.TOOL_DEFAULT == "as Maskwork starts"


def test_the_window_fits_a_1366x768_laptop(qtbot, full_window, monkeypatch):
    """First start on a 1366x768 screen: the window is made to fit, and every panel's minimum fits in it
    (the 8-row Objects minimum once made the window 805 pixels high, the status bar off the screen)."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QGuiApplication

    from maskwork.gui import main_window

    class Laptop:
        def availableGeometry(self):  # noqa: N802 - Qt's name
            return QRect(0, 0, 1366, 740)  # 768 less a panel

    assert main_window.first_size() == (1500, 950)  # the test screen is 1920x1200: full size
    monkeypatch.setattr(QGuiApplication, "primaryScreen", staticmethod(lambda: Laptop()))
    width, height = main_window.first_size()
    assert width <= 1366 and height <= 740 - 24  # a title bar's room at least
    assert full_window.minimumSizeHint().height() <= height, "a panel's minimum makes the window taller than the screen"
    full_window.resize(width, height)
    QApplication.processEvents()
    assert full_window.height() == height
    tree = full_window.panel_docks["Objects"].widget().tree
    assert tree.viewport().height() >= 4 * tree.sizeHintForRow(0)  # still a list, not a slit
