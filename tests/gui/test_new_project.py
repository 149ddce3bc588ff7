"""New project dialog (issue 12, defect 2): one visible id rule for both tasks, and a default model
that fits the task and the classes (bundled, never a download), chosen when the project opens."""
from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QDialog

from maskwork.gui.dialogs import new_project
from tests.gui.window_helpers import aerial_classes


def fill_in(monkeypatch, task: str, names: str, shown: list):
    """The user picks the task, types the names and presses OK (the real dialog, without its event loop)."""
    def exec_(dialog):
        dialog.task.setCurrentText(task)
        dialog.names.setText(names)
        shown.append([dialog.preview.item(r).text() for r in range(dialog.preview.count())])
        return QDialog.DialogCode.Accepted
    monkeypatch.setattr(new_project.NewProjectDialog, "exec", exec_)


@pytest.mark.parametrize("task", ["semantic", "instance"])
def test_both_tasks_show_and_use_the_same_ids(qtbot, task):
    dialog = new_project.NewProjectDialog("/data/fields")
    qtbot.addWidget(dialog)
    dialog.task.setCurrentText(task)
    dialog.names.setText("building, road, background, road")
    rows = [dialog.preview.item(r).text() for r in range(dialog.preview.count())]
    assert rows[0].startswith("0  background") and "unlabeled" in rows[0]
    assert rows[1:] == ["1  building", "2  road"]
    chosen_task, classes = dialog.result_value()
    assert chosen_task == task
    assert [(c.id, c.name) for c in classes] == [(0, "background"), (1, "building"), (2, "road")]


def test_a_new_semantic_folder_gets_the_bundled_model_of_its_classes(qtbot, window, aerial_folder, aerial_dir,
                                                                       monkeypatch):
    shown = []
    names = ", ".join(c.name for c in aerial_classes(aerial_dir) if c.id != 0)
    fill_in(monkeypatch, "semantic", names, shown)
    assert window.session.open_path(aerial_folder)
    project = window.state.project
    assert shown[0][1] == "1  building"  # what the user saw is what the project got
    assert [c.name for c in project.classes][:2] == ["background", "building"]
    assert project.settings["model"] == "aerial-landcover"


def test_a_new_instance_folder_gets_a_fitting_model_or_none(qtbot, window, nuclei_folder, tmp_path, monkeypatch):
    fill_in(monkeypatch, "instance", "nucleus", [])
    assert window.session.open_path(nuclei_folder)
    assert window.state.project.task == "instance"
    assert window.state.project.settings["model"] == "nuclei-instance"
    other = tmp_path / "cars"
    other.mkdir()
    (other / "a.png").write_bytes(sorted(nuclei_folder.glob("*.png"))[0].read_bytes())
    fill_in(monkeypatch, "instance", "car", [])
    assert window.session.open_path(other)
    assert "model" not in window.state.project.settings  # COCO Mask R-CNN would need a download: not chosen


def test_a_class_list_beside_the_images_is_offered_as_it_is(qtbot, aerial_dir, tmp_path):
    """The bundled aerial sample folder and the aerial dataset's layout carry classes.json: the dialog offers it,
    ids, names (class 0 'unlabeled') and colours, instead of "instance / object"."""
    from maskwork.core.formats.png import read_classes_json
    from maskwork.core.resources import samples_dir

    expected = read_classes_json(aerial_dir / "classes.json")
    for folder in (samples_dir() / "aerial", aerial_dir / "images"):  # classes.json in the folder; in its parent
        dialog = new_project.NewProjectDialog(str(folder))
        qtbot.addWidget(dialog)
        assert dialog.task.currentText() == "semantic"
        assert dialog.preview.item(0).text().startswith("0  unlabeled")
        task, classes = dialog.result_value()
        assert task == "semantic" and [(c.id, c.name, c.color) for c in classes] == \
            [(c.id, c.name, c.color) for c in expected]
    dialog.task.setCurrentText("instance")  # another task, other names: the usual rule again
    assert dialog.names.text() == "object" and dialog.result_value()[1].names() == ["background", "object"]
    dialog.task.setCurrentText("semantic")
    dialog.names.setText("building, water")
    assert [(c.id, c.name) for c in dialog.result_value()[1]] == [(0, "background"), (1, "building"), (2, "water")]


def test_a_broken_class_list_is_not_offered_and_one_without_id_0_gets_the_background(qtbot, tmp_path):
    (tmp_path / "classes.json").write_text("[{\"id\": 0, \"name\": ")
    dialog = new_project.NewProjectDialog(str(tmp_path))
    qtbot.addWidget(dialog)
    assert dialog.task.currentText() == "instance" and dialog.names.text() == "object"
    (tmp_path / "classes.json").write_text(json.dumps([{"id": 3, "name": "road", "color": "#FF0000"}]))
    dialog = new_project.NewProjectDialog(str(tmp_path))
    qtbot.addWidget(dialog)
    assert [(c.id, c.name) for c in dialog.result_value()[1]] == [(0, "background"), (3, "road")]
