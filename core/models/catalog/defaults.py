"""The default model of a project: a bundled model of the project's task whose classes are the
project's (same ids and names, class 0 aside), never one that needs a download.

Cheap on purpose (no torch, no registry import): the window calls it while opening a project on the
start-up path. tests/unit/test_default_model.py checks this table against core.models.catalog.registry.
"""
from __future__ import annotations

import os
from pathlib import Path

from maskwork.core.models.catalog.classlists import aerial_classes, nuclei_classes
from maskwork.core.resources import bundled_models_dir

# (model name, task, classes): the bundled models of core.models.catalog.registry
BUNDLED = [
    ("nuclei-instance", "instance", nuclei_classes),
    ("nuclei-semantic", "semantic", nuclei_classes),
    ("aerial-landcover", "semantic", aerial_classes),
]


def bundled_path(name: str) -> Path:
    """Where the bundled checkpoint lives (MASKWORK_MODELS_DIR overrides, as in the registry)."""
    folder = os.environ.get("MASKWORK_MODELS_DIR")
    return (Path(folder) if folder else bundled_models_dir()) / f"{name}.pt"


def _key(classes) -> set[tuple[int, str]]:
    """Class 0 is background or unlabeled depending on the source: it does not decide the match."""
    return {(c.id, c.name.strip().lower()) for c in classes if c.id != 0}


def default_model_for(task: str, classes) -> str | None:
    """The bundled model for this task and class list, or None when none fits (then the user picks)."""
    wanted = _key(classes)
    if not wanted:
        return None
    for name, model_task, model_classes in BUNDLED:
        if model_task == task and _key(model_classes()) == wanted and bundled_path(name).is_file():
            return name
    return None


def class_names(classes) -> set[str]:
    """The class names that matter for fitting a model (class 0, background / unlabeled, aside)."""
    return {c.name.strip().lower() for c in classes or [] if c.id != 0}


def training_start(models: list[tuple[str, set[str]]], classes, in_use: str | None) -> tuple[str | None, set[str]]:
    """The model training starts from, and the project classes it knows: the model in use when it knows any
    of them, else the listed model that knows most (the order given breaks ties). (None, set()) when no
    model knows any: training starts from random weights (a model of other images would only mislead it).
    `models`: (name, its class names as class_names gives them), of the project's task."""
    wanted = class_names(classes)
    known = {name: names & wanted for name, names in models}
    if in_use in known and known[in_use]:
        return in_use, known[in_use]
    best = max(known, key=lambda name: len(known[name]), default=None)
    return (best, known[best]) if best is not None and known[best] else (None, set())
