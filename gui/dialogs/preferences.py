"""Edit > Preferences: one row per entry of gui/preferences.PREFS; every change is stored and applied
at once (no OK needed), Restore defaults puts the table's defaults back."""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QSpinBox, QVBoxLayout

from maskwork.gui import preferences


class PreferencesDialog(QDialog):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.setWindowTitle("Preferences")
        self.window_ = window
        self.widgets = {}
        form = QFormLayout()
        for pref in preferences.PREFS:
            widget = self._widget(pref)
            widget.setToolTip(pref.tooltip)
            form.addRow(pref.label, widget)
            form.labelForField(widget).setToolTip(pref.tooltip)  # the words on the left explain too
            self.widgets[pref.key] = widget
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.rejected.connect(self.close)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self.restore_defaults)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(buttons)
        self.show_values()

    def _widget(self, pref):
        """A check box (bool), spin box (int) or combo box (str) that stores and applies on change."""
        store = lambda v, key=pref.key: preferences.set_value(key, v, self.window_)  # noqa: E731
        if isinstance(pref.default, bool):
            widget = QCheckBox(pref.text)
            widget.toggled.connect(store)
        elif isinstance(pref.default, int):
            lo, hi, suffix = pref.choices
            widget = QSpinBox()
            widget.setRange(lo, hi)
            widget.setSuffix(suffix)
            widget.valueChanged.connect(store)
        else:
            widget = QComboBox()  # shows a label, stores its value (a tool's internal name)
            for shown, stored in preferences.choices(pref, self.window_):
                widget.addItem(shown, stored)
            widget.currentIndexChanged.connect(lambda k, w=widget, s=store: s(w.itemData(k)))
        return widget

    def show_values(self) -> None:
        for key, widget in self.widgets.items():
            v = preferences.value(key)
            widget.blockSignals(True)
            if isinstance(widget, QCheckBox):
                widget.setChecked(bool(v))
            elif isinstance(widget, QSpinBox):
                widget.setValue(int(v))
            else:
                widget.setCurrentIndex(max(0, widget.findData(v)))
            widget.blockSignals(False)

    def restore_defaults(self) -> None:
        preferences.reset_all(self.window_)
        self.show_values()
