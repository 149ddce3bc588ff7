"""Every menu action of the main window, declared in one table: (menu, key, text, shortcuts,
tooltip, handler, checkable). Handlers are dotted paths resolved on the window, so the table stays
data and the shortcuts dialog can list everything from it."""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

from PySide6.QtGui import QAction, QKeySequence

from maskwork.core.formats.table import FORMATS


class ActionSpec(NamedTuple):
    menu: str
    key: str
    text: str
    shortcuts: tuple[str, ...]
    tooltip: str
    handler: str
    checkable: bool = False
    checked: bool = False


_ = ActionSpec
IMPORT_SHORTCUTS = {"coco": ("Ctrl+I",), "png": ("Ctrl+Shift+I",)}  # File > Import: one row per format of the table
ACTIONS = [
    _("File", "open_image", "Open &image…", ("Ctrl+O",), "Open one image (its folder becomes the project)", "files.open_image_dialog"),
    _("File", "open_folder", "Open &folder…", ("Ctrl+Shift+O",), "Open a folder of images or a Maskwork project", "files.open_folder_dialog"),
    _("File", "open_project", "Open &project…", ("Ctrl+Alt+O",), "Open a Maskwork project (a folder with a .maskwork store)", "files.open_project_dialog"),
    *(_("File", f"import_{c.name}", f"Import {c.title}…", IMPORT_SHORTCUTS.get(c.name, ()),
        f"Bring {c.help} into this project", f"files.import_dialog:{c.name}") for c in FORMATS),
    _("File", "export", "&Export…", ("Ctrl+E",), "Export COCO (RLE or polygons), PNG masks, YOLO labels or labelme JSON, all or selected images", "files.export_dialog"),
    _("File", "save", "&Save", ("Ctrl+S",), "Save all changed images (atomic, clears the autosave journal)", "session.save"),
    _("File", "save_elsewhere", "Save to &another folder…", ("Ctrl+Shift+S",), "Write the annotations to another folder (e.g. when the image folder is read-only)", "session.save_elsewhere"),
    _("File", "quit", "&Quit", ("Ctrl+Q",), "Close Maskwork (asks about unsaved work)", "close"),
    _("Edit", "undo", "&Undo", ("Ctrl+Z",), "Undo the last edit of this image", "editor.undo.undo"),
    _("Edit", "redo", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo the last undone edit", "editor.undo.redo"),
    _("Edit", "accept", "&Accept prediction", ("Ctrl+Return",), "Copy the model's prediction into the editable correction (undoable)", "editor.accept_prediction"),
    _("Edit", "refine_selected", "Re&fine selected objects", (), "Move the selected model-made objects' outlines onto the image's edges (corrected and locked objects are never touched; one undo step)", "features.refine.selected"),
    _("Edit", "refine_image", "Refine &all objects", (), "Move every model-made object's outline of this image onto the image's edges; on a semantic image, the model's region borders (corrected and locked objects or pixels are never touched; one undo step)", "features.refine.image"),
    _("Edit", "refine_sam", "Refine selected with &SAM", (), "Refine the selected model-made objects with the SAM tool's model (each object's box and inner point as prompts, the best-scored mask kept; one undo step)", "features.refine.selected_sam"),
    _("Edit", "new_instance", "&New instance", ("N",), "The next brush stroke draws a new instance", "editor.new_instance"),
    _("Edit", "delete", "&Delete instance", ("Del",), "Delete the selected instances", "editor.delete_selected"),
    _("Edit", "merge", "&Merge instances", ("M",), "Merge the selected instances into the first one", "editor.merge_selected"),
    _("Edit", "bigger", "Bigger brush", ("]",), "Grow the brush", "grow_brush"),
    _("Edit", "smaller", "Smaller brush", ("[",), "Shrink the brush", "shrink_brush"),
    _("Edit", "reviewed", "Mark &reviewed", ("R",), "Mark this image reviewed, or take the mark back (the image list shows ✓ and filters by it)", "features.review.toggle"),
    _("Edit", "preferences", "&Preferences…", ("Ctrl+,",), "Autosave interval, tool when a project opens, object labels, theme, review pass", "features.open_preferences"),
    _("View", "next", "&Next image", ("D", "Right"), "Go to the next image of the list", "next_image"),
    _("View", "previous", "&Previous image", ("A", "Left"), "Go to the previous image of the list", "previous_image"),
    _("View", "fit", "&Fit to window", ("Ctrl+0",), "Show the whole image", "view.fit"),
    _("View", "actual", "Actual size (&1:1)", ("Ctrl+1",), "One image pixel per screen pixel", "view.actual_size"),
    _("View", "zoom_in", "Zoom in", ("Ctrl+=", "Ctrl++"), "Zoom in around the centre", "zoom_in"),
    _("View", "zoom_out", "Zoom out", ("Ctrl+-",), "Zoom out around the centre", "zoom_out"),
    _("View", "show_prediction", "Show &prediction", ("Shift+P",), "Show the model's prediction layer", "toggle_prediction", True, True),
    _("View", "show_corrected", "Show &correction", ("Shift+C",), "Show the corrected (editable) layer", "toggle_corrected", True, True),
    _("View", "show_boxes", "Show &boxes", ("Shift+B",), "Show instance boxes", "toggle_boxes", True, True),
    _("View", "show_labels", "Show &labels", ("Shift+L",), "Show 'class score' labels on instances", "toggle_labels", True, True),
    _("View", "more_opacity", "More opacity", ("O",), "Make the overlays more opaque", "more_opacity"),
    _("View", "less_opacity", "Less opacity", ("Shift+O",), "Make the overlays more transparent", "less_opacity"),
    _("View", "tone", "&Brightness / contrast…", ("Ctrl+B",), "Brightness, contrast and gamma of the photo, for the eye only (the Image panel, tabbed with IoU)", "features.show_tone_panel"),
    _("Window", "reset_layout", "&Reset layout", (), "Put every panel back where it was at the first start, shown", "reset_layout"),
    _("Help", "shortcuts", "&Keyboard shortcuts", ("F1",), "List every shortcut", "show_shortcuts"),
    _("Help", "about", "&About Maskwork", (), "Version and licences", "show_about"),
    _("Help", "log_folder", "Open &log folder", (), "Open the folder of Maskwork's log file: errors with their details, to attach to a report", "features.open_log_folder"),
]
MENUS = ["File", "Edit", "View", "Tools", "Model", "Window", "Help"]


def resolve(owner, dotted: str):
    """`files.export_dialog` -> owner.files.export_dialog; `files.import_dialog:coco` binds the argument "coco"."""
    dotted, _sep, arg = dotted.partition(":")
    target = owner
    for part in dotted.split("."):
        target = getattr(target, part)
    return partial(target, arg) if arg else target


def build_actions(window, specs=ACTIONS) -> dict[str, QAction]:
    """Create the QActions on `window` and connect them to their handlers."""
    actions = {}
    for spec in specs:
        action = QAction(spec.text, window)
        action.setShortcuts([QKeySequence(s) for s in spec.shortcuts])
        keys = ", ".join(spec.shortcuts)
        action.setToolTip(f"{spec.tooltip} ({keys})" if keys else spec.tooltip)
        action.setStatusTip(spec.tooltip)
        action.setCheckable(spec.checkable)
        if spec.checkable:
            action.setChecked(spec.checked)
            action.toggled.connect(lambda on, h=spec.handler: resolve(window, h)(on))
        else:
            action.triggered.connect(lambda _=False, h=spec.handler: resolve(window, h)())
        window.addAction(action)  # shortcuts work even while a dock has the focus
        actions[spec.key] = action
    return actions
