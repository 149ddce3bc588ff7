"""Issue 18, section 3: the Recovered work note names a recovered class list in the user's words ("the class
list and project settings"), not the store's file name project.json."""
from __future__ import annotations

from maskwork.core.domain.annotation import ClassList
from maskwork.core.store.project import Project
from maskwork.gui.dialogs import messages


def test_the_recovered_work_note_speaks_of_the_class_list(qtbot, window, nuclei_folder, monkeypatch):
    project = Project.create(nuclei_folder, ClassList.from_names(["background", "nucleus"]), task="instance")
    project.save()
    project.classes.add("debris", "#FF00FF")
    project.journal_classes()  # a class added in the app is journaled at once; then the program died unsaved
    project.close()
    shown = []
    monkeypatch.setattr(messages, "show_info", lambda parent, title, text: shown.append((title, text)))
    assert window.session.open_path(nuclei_folder)
    assert "debris" in window.state.project.classes.names()
    title, text = shown[0]
    assert title == "Recovered work" and "the class list and project settings" in text
    assert "project.json" not in text
