"""Panels docked around the canvas, declared in a table and imported lazily: a panel whose module
is not there yet (or fails to import) is skipped with a status-bar message, the window still opens."""
from __future__ import annotations

import importlib
import logging
from typing import NamedTuple

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

Area = Qt.DockWidgetArea
log = logging.getLogger(__name__)


class PanelSpec(NamedTuple):
    module: str
    cls: str
    title: str
    area: Qt.DockWidgetArea
    tooltip: str
    tab_with: str = ""  # title of a panel to share a tabbed dock with (keeps the canvas large)


PANELS = [
    PanelSpec("maskwork.gui.panels.model_panel", "ModelPanel", "Model", Area.RightDockWidgetArea,
              "Run a segmentation model on this image or on all images"),
    PanelSpec("maskwork.gui.panels.objects_panel", "ObjectsPanel", "Objects", Area.RightDockWidgetArea,
              "Objects of this image (classes, semantic): show/hide, lock, select, sort and filter"),
    PanelSpec("maskwork.gui.panels.iou_panel", "IoUPanel", "IoU", Area.RightDockWidgetArea,
              "IoU between the prediction and your correction, live while you paint"),
    PanelSpec("maskwork.gui.panels.dataset_panel", "DatasetPanel", "Dataset", Area.RightDockWidgetArea,
              "IoU of every corrected image; click a row to open it", tab_with="IoU"),
    PanelSpec("maskwork.gui.panels.tone_panel", "TonePanel", "Image", Area.RightDockWidgetArea,
              "Brightness, contrast and gamma of the photo, for the eye only (dark microscopy images)",
              tab_with="IoU"),
]

# Windows opened from the Model menu: (module, class, menu text, shortcut, tooltip)
WINDOWS = [
    ("maskwork.gui.compare.window", "CompareWindow", "Compare float vs int8…", "Ctrl+K",
     "Run two models (or float and int8) side by side and see where they disagree"),
    ("maskwork.gui.dialogs.train_dialog", "TrainDialog", "Train on corrected images…", "Ctrl+T",
     "Fine-tune a model on the images you corrected"),
    ("maskwork.gui.dialogs.add_model", "AddModelDialog", "Add model file…", "Ctrl+Shift+M",
     "Register an ONNX file (YOLO-seg, Maskwork export, semantic net) or a Maskwork checkpoint"),
]


def load_class(module: str, name: str):
    """The class, or an error string saying why it is not available."""
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        log.warning("%s.%s not loaded", module, name, exc_info=True)
        if exc.name == module:
            return f"{module} is not installed yet"
        return f"{module} cannot be imported: {exc}"
    except Exception as exc:  # a broken panel must not keep the window from opening
        log.exception("%s.%s failed to load", module, name)
        return f"{module} failed to load: {type(exc).__name__}: {exc}"


def add_panels(window, state, specs=None) -> tuple[dict[str, QDockWidget], list[str]]:
    docks, skipped = {}, []
    for spec in PANELS if specs is None else specs:
        cls = load_class(spec.module, spec.cls)
        if isinstance(cls, str):
            skipped.append(f"{spec.title} panel skipped: {cls}")
            continue
        try:
            widget = cls(state, window)
        except Exception as exc:
            log.exception("the %s panel failed to start", spec.title)
            skipped.append(f"{spec.title} panel skipped: {type(exc).__name__}: {exc}")
            continue
        docks[spec.title] = dock(window, widget, spec.title, spec.area, spec.tooltip)
        if spec.tab_with in docks:
            window.tabifyDockWidget(docks[spec.tab_with], docks[spec.title])
            docks[spec.tab_with].raise_()
    return docks, skipped


# a side dock wider than this share of the window leaves the canvas behind a scrollbar: a layout saved
# while content could still widen a dock (before the IoU headline wrapped) is brought back to this
MAX_SIDE_SHARE = 0.33


def clamp_side_docks(window, share: float = MAX_SIDE_SHARE) -> list[QDockWidget]:
    """Narrow every visible left/right dock wider than `share` of the window; returns those narrowed."""
    limit = int(window.width() * share)
    sides = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea)
    wide = [d for d in window.findChildren(QDockWidget)
            if d.isVisible() and not d.isFloating() and d.width() > limit and window.dockWidgetArea(d) in sides]
    if wide:
        window.resizeDocks(wide, [limit] * len(wide), Qt.Orientation.Horizontal)
    return wide


def bring_up(window, title: str) -> QDockWidget | None:
    """Show a docked panel and put its tab in front (a tab behind another is out of sight even while
    its View-menu entry is checked); None when the panel was skipped."""
    d = getattr(window, "panel_docks", {}).get(title)
    if d is not None:
        d.show()
        d.raise_()
    return d


def dock(window, widget, title: str, area, tooltip: str = "") -> QDockWidget:
    d = QDockWidget(title, window)
    d.setObjectName(f"dock_{title}")  # saveState/restoreState need names
    d.setWidget(widget)
    d.setToolTip(tooltip)
    window.addDockWidget(area, d)
    return d
