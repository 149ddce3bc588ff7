"""The model panel's warning line: the picked model's task or classes do not fit the project.

Shown before anything runs, with "Add to project" / "Ignore" when model classes have no match by
name. The choice is remembered per model in project.settings["class_fit"]; "add" adds the classes at
once (model colours), so the Classes panel shows them and the next run fills them.
"""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from maskwork.core.models.class_map import ClassMap, fit_warning

SETTING = "class_fit"


class ClassFitBar(QWidget):
    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.entry = None
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setStyleSheet("color: #b35900;")
        self.add_button = QPushButton("Add to project")
        self.add_button.setToolTip("Add the model's classes that the project lacks (with the model's colours)")
        self.add_button.clicked.connect(self.add_classes)
        self.ignore_button = QPushButton("Ignore")
        self.ignore_button.setToolTip("Leave the project's classes as they are: pixels of those classes stay "
                                      "unlabelled, objects of those classes are dropped")
        self.ignore_button.clicked.connect(lambda: self.choose("ignore"))
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.ignore_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addLayout(buttons)
        self.setVisible(False)

    # ---- the choice, per model, in the project's settings --------------------------------
    def _remembered(self) -> dict:
        settings = getattr(self.state.project, "settings", None)
        value = settings.get(SETTING) if isinstance(settings, dict) else None
        return value if isinstance(value, dict) else {}

    def choice(self, model: str | None = None) -> str:
        """'add' or 'ignore' (the default, as on the command line) for this model in this project."""
        return self._remembered().get(model or getattr(self.entry, "name", None), "ignore")

    def _remember(self, value: str) -> None:
        settings = getattr(self.state.project, "settings", None)
        if isinstance(settings, dict) and self.entry is not None:
            settings.setdefault(SETTING, {})[self.entry.name] = value

    def choose(self, value: str) -> None:
        self._remember(value)
        self.refresh(self.entry)

    def add_classes(self) -> None:
        project, entry = self.state.project, self.entry
        if project is None or entry is None or entry.classes is None or self.state.refuse_read_only():
            return
        added = ClassMap(entry.classes, project.classes).add_unmatched()
        self._remember("add")
        if added:
            self.state.classes_changed.emit()
            self.state.status_message.emit(f"added {len(added)} classes from {entry.name}: "
                                           + ", ".join(c.name for c in added))
        self.refresh(entry)

    # ---- showing ---------------------------------------------------------------------------
    def refresh(self, entry=None) -> None:
        """Say how `entry` (a model_jobs.ModelEntry) fits the open project; hidden when it fits."""
        self.entry = entry
        project = self.state.project
        if project is None or entry is None or entry.classes is None:
            self.setVisible(False)
            return
        chosen = self._remembered().get(entry.name)
        text = fit_warning(entry.name, entry.task, entry.classes, project.task, project.classes, chosen)
        unmatched = bool(ClassMap(entry.classes, project.classes).unmatched)
        self.label.setText(text)
        self.add_button.setVisible(unmatched)
        self.ignore_button.setVisible(unmatched and chosen is None)
        self.setVisible(bool(text))
