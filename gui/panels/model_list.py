"""How the model panel lists models: which one it starts on, and how an entry reads in the list.

The start model is the bundled model that fits the project's task and classes (core.models.catalog.defaults),
else one of the task whose weights are already here, bundled first: never one that needs a download.
"""
from __future__ import annotations

from maskwork.core.models.catalog.defaults import default_model_for

# weights state -> preference when no bundled model fits the project (lower is better; absent = never)
LOCAL_PREFERENCE = {"bundled": 0, "user": 1, "cached": 2}
DOWNLOAD_STATES = ("needs download",)
DOWNLOAD_MARK = "  (download)"


def default_index(entries, task: str | None, classes) -> int:
    """Index of the model the panel starts on for a project of `task` and `classes`."""
    fitting = default_model_for(task, classes) if task and classes is not None else None
    for i, e in enumerate(entries):
        if e.name == fitting:
            return i
    local = [(LOCAL_PREFERENCE[e.state], i) for i, e in enumerate(entries)
             if e.task == task and e.state in LOCAL_PREFERENCE]
    if local:
        return min(local)[1]
    here = [i for i, e in enumerate(entries) if e.state in LOCAL_PREFERENCE]
    return here[0] if here else 0


def needs_download(entry) -> bool:
    return entry.state in DOWNLOAD_STATES


def item_text(entry) -> str:
    """The list text: the name, marked when the first run has to download the weights."""
    return entry.name + (DOWNLOAD_MARK if needs_download(entry) else "")


def item_tooltip(entry) -> str:
    text = entry.description or entry.name
    if needs_download(entry):
        text += "\nNeeds a download on first use (internet needed); the other models are on this computer."
    return text
