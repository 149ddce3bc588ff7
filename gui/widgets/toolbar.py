"""The tools toolbar: one checkable action per tool (from maskwork.gui.tools.TOOLS), brush size and opacity."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QSlider, QSpinBox, QToolBar

from maskwork.gui.controllers.editor import MAX_RADIUS, MIN_RADIUS
from maskwork.gui.tools import TOOLS
from maskwork.gui.tools.base import Tool
from maskwork.gui.tools.wand_tool import WandTool


def _slider(lo: int, hi: int, value: int, tip: str) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setValue(value)
    s.setFixedWidth(110)
    s.setToolTip(tip)
    return s


class ToolBar(QToolBar):
    def __init__(self, window) -> None:
        super().__init__("Tools", window)
        self.setObjectName("toolbar_tools")
        self.window_ = window
        self.group = QActionGroup(self)
        self.tools: dict[str, Tool] = {}
        self.tool_actions: dict[str, QAction] = {}
        for cls, _semantic, _instance in TOOLS:
            tool = cls(window.editor, window.view)
            action = QAction(tool.label, self)
            action.setCheckable(True)
            action.setShortcut(QKeySequence(tool.shortcut))
            action.setToolTip(tool.tooltip)
            action.triggered.connect(lambda _=False, name=tool.name: self.select(name))
            self.group.addAction(action)
            self.addAction(action)
            window.addAction(action)
            self.tools[tool.name], self.tool_actions[tool.name] = tool, action
        self.addSeparator()
        self.addWidget(QLabel(" Brush "))
        self.brush = _slider(1, 100, window.editor.radius, "Brush radius in image pixels ([ and ] change it)")
        self.brush.valueChanged.connect(window.editor.set_radius)
        window.editor.radius_changed.connect(self._radius_changed)
        self.addWidget(self.brush)
        self.brush_size = QSpinBox()  # the exact number, and sizes past the slider's end (up to MAX_RADIUS)
        self.brush_size.setRange(MIN_RADIUS, MAX_RADIUS)
        self.brush_size.setValue(window.editor.radius)
        self.brush_size.setSuffix(" px")
        self.brush_size.setToolTip("Brush radius in image pixels: type a number ([ and ] change it)")
        self.brush_size.setKeyboardTracking(False)  # typing "25" sets 25, not 2 then 25
        self.brush_size.valueChanged.connect(window.editor.set_radius)
        self.addWidget(self.brush_size)
        self._wand_widgets = [self.addWidget(QLabel(" Tolerance "))]
        wand = self.tools["wand"]
        assert isinstance(wand, WandTool), "TOOLS names the magic wand 'wand'"
        self.tolerance = _slider(0, 100, round(wand.tolerance() * 100),
                                 "Magic wand tolerance: 0 strict .. 100 loose (Ctrl+wheel over the image)")
        self.tolerance.valueChanged.connect(lambda v: wand.set_tolerance(v / 100))
        wand.tolerance_listeners.append(self._tolerance_changed)
        self.tolerance_action = self.addWidget(self.tolerance)
        self._wand_widgets.append(self.tolerance_action)
        self.addWidget(QLabel(" Opacity "))
        self.opacity = _slider(0, 100, round(window.binding.opacity * 100), "Overlay opacity (O / Shift+O)")
        self.opacity.valueChanged.connect(lambda v: window.binding.set_opacity(v / 100))
        self.addWidget(self.opacity)

    def _radius_changed(self, radius: int) -> None:
        for widget in (self.brush, self.brush_size):
            widget.blockSignals(True)
            widget.setValue(min(radius, widget.maximum()))
            widget.blockSignals(False)
        self.window_.view.set_brush_radius(radius)

    def _tolerance_changed(self, value: float) -> None:
        self.tolerance.blockSignals(True)
        self.tolerance.setValue(round(value * 100))
        self.tolerance.blockSignals(False)

    def select(self, name: str) -> None:
        self.tool_actions[name].setChecked(True)
        self.window_.view.set_tool(self.tools[name])
        for widget_action in self._wand_widgets:  # the tolerance slider only matters to the wand
            widget_action.setVisible(name == "wand")
        if self.tools[name].hint:
            self.window_.state.status_message.emit(self.tools[name].hint)

    def update_for_task(self, task: str) -> None:
        """Select is for instances only; keep the current tool if it still applies."""
        for cls, semantic, instance in TOOLS:
            self.tool_actions[cls.name].setEnabled(instance if task == "instance" else semantic)
        current = self.window_.view.tool
        if current is None or not self.tool_actions[current.name].isEnabled():
            self.select("pan")  # available for both tasks, edits nothing

    def tool_action_list(self) -> list[QAction]:
        return list(self.tool_actions.values())
