"""User preferences: one table (key, label, default, choices, tooltip), stored in QSettings under
"preferences/<key>" and applied live to the window (Edit > Preferences, gui/dialogs/preferences.py).

A value is applied when the window starts and each time it changes, through APPLY (key -> function).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence

from maskwork.gui import theme

GROUP = "preferences"
TOOL_DEFAULT = "as Maskwork starts"  # stored: no preference, opening a project leaves the tool as it is
TOOL_DEFAULT_SHOWN = "Keep the tool in use"  # how the list says it; the stored words stay for saved settings
LABELS = {"class and score": (True, True), "class only": (True, False), "hidden": (False, False)}


class Pref(NamedTuple):
    key: str
    label: str
    default: object          # bool, int or str: also the type of the stored value
    choices: tuple = ()      # for str: the allowed values; for int: (minimum, maximum, suffix)
    tooltip: str = ""        # on the row's label and its control
    text: str = ""           # a check box's own words: what switching it on does


PREFS = [
    Pref("autosave_s", "Autosave every", 30, (5, 600, " s"),
         "How often unsaved work is also snapshotted (every completed edit is in the crash journal within a "
         "second anyway)"),
    Pref("default_tool", "Tool when a project opens", TOOL_DEFAULT, (),
         "The tool picked each time a project opens (a tool that does not fit the project's task is "
         "skipped). 'Keep the tool in use' leaves the tool as it is; Maskwork itself starts on Pan (H), "
         "which never paints."),
    Pref("labels", "Object labels", "class and score", tuple(LABELS),
         "What the label on each object shows (View > Show labels switches them off and on)"),
    Pref("theme", "Theme", "system", tuple(theme.THEMES), "Colours of the window: the system's, light or dark"),
    Pref("review_pass", "Review pass", False, (),
         "For going through the images once: accepting a prediction (Ctrl+Return) also marks the image "
         "reviewed, and marking an image reviewed (R) opens the next unreviewed image of the list. Off: "
         "both only do what they say.",
         "Accept or R moves on to the next unreviewed image"),
]
BY_KEY = {p.key: p for p in PREFS}


def value(key: str):
    """The stored value of a preference (its default when unset or unreadable), in its own type."""
    pref = BY_KEY[key]
    raw = QSettings().value(f"{GROUP}/{key}", pref.default)
    try:
        if isinstance(pref.default, bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in ("true", "1", "yes")
        if isinstance(pref.default, int):
            lo, hi, _suffix = pref.choices
            return max(lo, min(hi, int(raw if isinstance(raw, (int, float)) else str(raw))))
    except (TypeError, ValueError):
        return pref.default
    text = str(raw)
    return text if not pref.choices or text in pref.choices else pref.default


def set_value(key: str, new, window=None) -> None:
    QSettings().setValue(f"{GROUP}/{key}", new)
    if window is not None:
        APPLY[key](window, value(key))


def reset_all(window=None) -> None:
    for pref in PREFS:
        set_value(pref.key, pref.default, window)


def apply_all(window) -> None:
    for pref in PREFS:
        APPLY[pref.key](window, value(pref.key))


# ---- how each preference reaches the window ---------------------------------------------------------
def _autosave(window, seconds: int) -> None:
    window.session.timer.setInterval(int(seconds) * 1000)


def _default_tool(window, name: str) -> None:
    """Picked now and whenever a project opens (after the toolbar has enabled the task's tools)."""
    window.preferred_tool = None if name == TOOL_DEFAULT else name
    if window.state.project is not None:
        pick_preferred_tool(window)


def pick_preferred_tool(window) -> None:
    name = getattr(window, "preferred_tool", None)
    action = window.toolbar.tool_actions.get(name) if name else None
    if action is not None and action.isEnabled():
        window.toolbar.select(name)


def _labels(window, shown: str) -> None:
    on, scores = LABELS[shown]
    window.view.boxes.show_scores = scores
    window.actions_["show_labels"].setChecked(on)  # its handler redraws the labels
    window.binding.rebuild_boxes()


def _review_pass(window, on: bool) -> None:
    """Read when it matters (gui/controllers/review.py); nothing to set up."""


APPLY: dict[str, Callable[..., None]] = {"autosave_s": _autosave, "default_tool": _default_tool, "labels": _labels,
         "theme": lambda window, name: theme.apply(name), "review_pass": _review_pass}


def tool_choices(window) -> list[tuple[str, str]]:
    """(shown, stored) for the default-tool list: the toolbar's label and shortcut ("Bounding box
    (Shift+G)"), the tool's internal name stored (labels may change or be translated; names do not)."""
    choices = [(TOOL_DEFAULT_SHOWN, TOOL_DEFAULT)]
    for name, action in window.toolbar.tool_actions.items():
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        choices.append((f"{action.text()} ({keys})" if keys else action.text(), name))
    return choices


def choices(pref: Pref, window) -> Sequence[tuple[str, object]]:
    """(shown, stored) of a preference with a list of values."""
    return tool_choices(window) if pref.key == "default_tool" else [(c, c) for c in pref.choices]
