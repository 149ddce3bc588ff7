"""The main window: canvas in the middle, image list and classes on the left, the other panels
docked from gui/docks.PANELS, menus from gui/actions.ACTIONS, tools from gui/tools.TOOLS."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QVBoxLayout, QWidget

from maskwork.core.editing.box_ops import is_box_only
from maskwork.core.formats.table import FORMATS
from maskwork.gui import actions as action_table
from maskwork.gui import class_keys, docks, text_shortcuts, window_features
from maskwork.gui.canvas.binding import CanvasBinding
from maskwork.gui.canvas.view import WHEEL_STEP, CanvasView
from maskwork.gui.controllers.clean_state import CleanTracker
from maskwork.gui.controllers.editor import Editor
from maskwork.gui.controllers.file_ops import FileOps
from maskwork.gui.controllers.samples import SAMPLE_PROJECTS, sample_project
from maskwork.gui.controllers.session import Session
from maskwork.gui.dialogs import messages
from maskwork.gui.dialogs.shortcuts import ShortcutsDialog
from maskwork.gui.panels.classes_panel import ClassesPanel
from maskwork.gui.panels.image_list import ImageListPanel
from maskwork.gui.state import AppState
from maskwork.gui.widgets.read_only_banner import ReadOnlyBanner
from maskwork.gui.widgets.status_bar import StatusBar
from maskwork.gui.widgets.toolbar import ToolBar

OPACITY_STEP = 0.1
START_TOOL = "pan"  # gui/tools/pan.py; Edit > Preferences can pick another (gui/preferences.py)


def first_size(wanted: tuple[int, int] = (1500, 950)) -> tuple[int, int]:
    """The first start's window size: 1500x950, or less on a smaller screen (a 1366x768 laptop) so that the
    window, its panels and their buttons are all on the screen."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return wanted
    room = screen.availableGeometry()
    return min(wanted[0], room.width() - 30), min(wanted[1], room.height() - 30)  # room for the title bar


class MainWindow(QMainWindow):
    def __init__(self, state: AppState | None = None, panels_now: bool = True) -> None:
        super().__init__()
        self.state = state or AppState()
        self.setObjectName("MainWindow")
        self.resize(*first_size())
        self.setAcceptDrops(True)
        self.view = CanvasView(self)
        self.banner = ReadOnlyBanner(self)  # above the canvas while another program writes the project
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        column.addWidget(self.view, 1)
        self.setCentralWidget(central)
        self.editor = Editor(self.state, self)
        self.binding = CanvasBinding(self.state, self.view, self.editor, self)
        self.session = Session(self.state, self.editor, self.view, self)
        self.clean_state = CleanTracker(self.session)  # undo back to the save: saved again
        self.files = FileOps(self)
        self.session.file_jobs = self.files.jobs  # autosave waits while an import/export uses the project
        self.image_list = ImageListPanel(self.state, self)
        self.classes_panel = ClassesPanel(self.state, self, undo=self.editor.undo)
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        self.left_docks = {"Images": docks.dock(self, self.image_list, "Images", left, "Images of the project with "
                                                "their state; D / A go to the next / previous")}
        self.left_docks["Classes"] = docks.dock(self, self.classes_panel, "Classes", left,
                                                "Classes; keys 1-9 pick the listed classes in order")
        self.panel_docks: dict[str, QDockWidget] = {}
        self.skipped_panels: list[str] = []
        self._default_layout: QByteArray | None = None  # the docks as add_panels placed them (Reset layout)
        self.actions_ = action_table.build_actions(self)
        self.toolbar = ToolBar(self)
        self.addToolBar(self.toolbar)
        self.class_actions = self._class_actions()
        self._build_menus()
        self.status = StatusBar(self.state, self.session, self.binding, self)
        self.setStatusBar(self.status)
        self._connect()
        self.features = window_features.Features(self)  # reviewed mark, preferences, log folder
        text_shortcuts.install(self)  # Ctrl+Z reaches the canvas unless a text field is being typed in
        self.toolbar.select(START_TOOL)  # a first click on the image must not paint
        if panels_now:
            self.add_panels()

    def add_panels(self) -> None:
        """Dock the other panels (run_app calls this after the window is shown: they import more)."""
        self.panel_docks, self.skipped_panels = docks.add_panels(self, self.state)
        self.features.refine.offer_sam(self.panel_docks)  # Model panel: Refine with the SAM tool's model
        for d in self.panel_docks.values():
            self.menus["View"].addAction(d.toggleViewAction())
        for line in self.skipped_panels:
            self.status.showMessage(line, 8000)
        text_shortcuts.install(self)
        self._default_layout = self.saveState()  # what Window > Reset layout goes back to
        self._restore_layout()
        if self.state.project is not None:  # panels opened after the project: bring them up to date
            self.state.project_changed.emit()
            if self.state.current_name:
                self.state.image_changed.emit(self.state.current_name)

    # ---- construction -------------------------------------------------------------------
    def _class_actions(self) -> list[QAction]:
        actions = class_keys.make_actions(self, self.pick_key)
        class_keys.update_actions(actions, None)
        return actions

    def _update_class_actions(self) -> None:
        p = self.state.project
        class_keys.update_actions(self.class_actions, None if p is None else p.classes)

    def _build_menus(self) -> None:
        menus = {name: self.menuBar().addMenu(f"&{name}") for name in action_table.MENUS}
        for spec in action_table.ACTIONS:
            menus[spec.menu].addAction(self.actions_[spec.key])
            if spec.key == "open_folder":
                self.recent_menu = QMenu("Open &recent", self)
                self.recent_menu.setToolTipsVisible(True)
                menus["File"].addMenu(self.recent_menu)
                self.sample_menu = menus["File"].addMenu("Open &sample")
                self.sample_menu.setToolTipsVisible(True)
                for name, (task, _classes) in SAMPLE_PROJECTS.items():
                    a = self.sample_menu.addAction(name)
                    a.setToolTip(f"Open the {name} sample ({task} segmentation), a copy in your data folder")
                    a.triggered.connect(lambda _=False, n=name: self.open_sample(n))
        for menu in menus.values():
            menu.setToolTipsVisible(True)
        menus["Tools"].addActions(self.toolbar.tool_action_list())
        menus["Tools"].addSeparator()
        menus["Tools"].addActions(self.class_actions)
        self.window_actions = []
        for module, cls, text, shortcut, tip in docks.WINDOWS:
            a = QAction(text, self)
            a.setShortcut(QKeySequence(shortcut))
            a.setToolTip(tip)
            a.triggered.connect(lambda _=False, m=module, c=cls: self.open_window(m, c))
            menus["Model"].addAction(a)
            self.addAction(a)
            self.window_actions.append(a)
        menus["View"].addSeparator()  # every panel can be shown again from here (add_panels adds the rest)
        for d in self.left_docks.values():
            menus["View"].addAction(d.toggleViewAction())
        self.menus = menus
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for folder in self.session.recent():
            a = self.recent_menu.addAction(folder)
            a.setToolTip(f"Open {folder}")
            a.triggered.connect(lambda _=False, f=folder: self.session.open_path(f))
        self.recent_menu.setEnabled(bool(self.recent_menu.actions()))

    def _connect(self) -> None:
        s = self.state
        self.session.title_changed.connect(lambda: self.setWindowTitle(self.session.title()))
        self.session.recent_changed.connect(self._fill_recent)
        self.image_list.open_requested.connect(self.session.open_image)
        s.open_requested.connect(self.session.open_image)  # e.g. a row of the dataset panel
        s.comparison_requested.connect(lambda _a, _b: docks.bring_up(self, "Dataset"))  # e.g. after training
        s.select_requested.connect(self.select_instances)  # e.g. a click on an IoU row
        s.project_changed.connect(lambda: self.toolbar.update_for_task(s.project.task if s.project else "semantic"))
        s.project_changed.connect(self._show_read_only)
        s.project_changed.connect(self._update_class_actions)
        s.classes_changed.connect(self._update_class_actions)
        self.banner.retry.connect(self.session.retry_write)
        self.view.cursor_moved.connect(self.status.on_cursor)
        self.view.zoom_changed.connect(self.status.on_zoom)
        self.editor.error.connect(lambda exc: messages.show_error(self, exc))
        self.editor.undo.cleanChanged.connect(lambda _c: self.setWindowTitle(self.session.title()))

    def _show_read_only(self) -> None:
        """Banner and the actions that would write: off while another program writes the project."""
        p = self.state.project
        read_only = p is not None and p.read_only
        self.banner.show_for(p)
        for key in ("save", "save_elsewhere", *(f"import_{c.name}" for c in FORMATS)):
            self.actions_[key].setEnabled(not read_only)

    # ---- handlers named in the action table ---------------------------------------------
    def next_image(self) -> None:
        self.session.step(+1, self.image_list.visible_names())

    def previous_image(self) -> None:
        self.session.step(-1, self.image_list.visible_names())

    def zoom_in(self) -> None:
        self.view.set_zoom(self.view.zoom() * WHEEL_STEP)

    def zoom_out(self) -> None:
        self.view.set_zoom(self.view.zoom() / WHEEL_STEP)

    def grow_brush(self) -> None:
        self.editor.grow(1.25)

    def shrink_brush(self) -> None:
        self.editor.grow(0.8)

    def toggle_prediction(self, on: bool) -> None:
        self.binding.set_visible("show_prediction", on)

    def toggle_corrected(self, on: bool) -> None:
        self.binding.set_visible("show_corrected", on)

    def toggle_boxes(self, on: bool) -> None:
        self.binding.set_boxes(on)

    def toggle_labels(self, on: bool) -> None:
        self.binding.set_labels(on)

    def more_opacity(self) -> None:
        self.toolbar.opacity.setValue(round((self.binding.opacity + OPACITY_STEP) * 100))

    def less_opacity(self) -> None:
        self.toolbar.opacity.setValue(round((self.binding.opacity - OPACITY_STEP) * 100))

    def pick_key(self, digit: int) -> None:
        """Keys 1-9: the digit-th listed class (gui/class_keys.py)."""
        p = self.state.project
        class_id = class_keys.digit_classes(None if p is None else p.classes).get(digit)
        if class_id is None:
            self.state.status_message.emit(f"No class has key {digit}; add one in the Classes panel.")
            return
        self.pick_class(class_id)

    def pick_class(self, class_id: int) -> None:
        p = self.state.project
        if p is None or class_id not in p.classes:
            self.state.status_message.emit(f"There is no class {class_id}; add one in the Classes panel.")
            return
        self.state.set_current_class(class_id)
        n = self.editor.reclass_selected(class_id)
        if n:  # a digit with a selection re-classes it: say so, it is one undo step
            self.state.status_message.emit(f"{n} selected instance{'s' if n > 1 else ''} now "
                                           f"{p.classes.get(class_id).name} (Ctrl+Z undoes).")

    def select_instances(self, ids: list[int]) -> None:
        """Select these instances of the corrected layer and scroll them into view."""
        layer = self.editor.layer
        found = [i for i in (layer.instances if layer is not None else [])
                 if i.id in ids and (not i.mask.is_empty or is_box_only(i))]  # box-only objects too
        self.editor.set_selection([i.id for i in found])
        if found:
            x, y, w, h = found[0].bbox
            self.view.ensureVisible(x, y, w, h)

    def open_sample(self, name: str) -> bool:
        folder = sample_project(name)
        if folder is None:
            messages.show_error(self, f"The {name} sample is not installed with this copy of Maskwork; "
                                      "open a folder of your own images (Ctrl+Shift+O).")
            return False
        return self.session.open_path(folder)

    def open_window(self, module: str, cls_name: str) -> None:
        cls = docks.load_class(module, cls_name)
        if isinstance(cls, str):
            messages.show_error(self, f"This window is not available: {cls}.")
            return
        win = cls(self.state, self)
        win.show()

    def show_shortcuts(self) -> ShortcutsDialog:
        groups = [(spec.menu, self.actions_[spec.key]) for spec in action_table.ACTIONS]
        groups += [("Tools", a) for a in self.toolbar.tool_action_list()]
        groups += [("Tools", a) for a in self.class_actions if a.isVisible()]
        groups += [("Model", a) for a in self.window_actions]
        dialog = ShortcutsDialog(groups, self)
        dialog.show()
        return dialog

    def show_about(self) -> None:
        from maskwork.core.version import version

        messages.show_info(self, "About Maskwork",
                           f"Maskwork {version()}\n\nSegment images with a model, correct the masks, measure IoU, "
                           "compare float and int8 models, train, export COCO.\nMIT licence.")

    # ---- window events ------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.session.open_path(Path(paths[0]))
            event.acceptProposedAction()

    def closeEvent(self, event) -> None:
        if not self.session.close_project():
            event.ignore()
            return
        QSettings().setValue("main_window/state", self.saveState())
        QSettings().setValue("main_window/geometry", self.saveGeometry())
        if self.state.project is not None:
            self.state.project.close()  # releases the project lock (again: closing twice is harmless)
        event.accept()

    def reset_layout(self) -> None:
        """Window > Reset layout: the panels as docked at start-up, all shown."""
        if self._default_layout is not None:
            self.restoreState(self._default_layout)
        for d in [*self.left_docks.values(), *self.panel_docks.values()]:
            d.setFloating(False)
            d.show()

    def _restore_layout(self) -> None:
        geometry = QSettings().value("main_window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        layout = QSettings().value("main_window/state")
        if layout is not None:
            self.restoreState(layout)
            QTimer.singleShot(0, lambda: docks.clamp_side_docks(self))  # once the restored sizes are laid out
