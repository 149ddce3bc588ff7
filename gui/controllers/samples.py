"""The bundled sample projects: copied once into the per-user data folder (the installation folder is never
written into), each given its store on first use. File > Open sample and the first start open them."""
from __future__ import annotations

import shutil
from pathlib import Path

from maskwork.core.resources import samples_dir
from maskwork.gui.controllers.data_folder import data_folder

SAMPLES = samples_dir()


def user_samples_folder() -> Path | None:
    """A writable copy of the bundled samples, made on first start (None when none are bundled)."""
    if not SAMPLES.is_dir() or not any(SAMPLES.iterdir()):
        return None
    data = data_folder()  # <data>/Maskwork, not the doubled Maskwork/Maskwork (gui/controllers/data_folder.py)
    target = data / "samples"
    if not target.exists():
        data.mkdir(parents=True, exist_ok=True)
        tmp = data / "samples.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(SAMPLES, tmp)
        tmp.rename(target)  # a half-copied folder never looks like the samples
    return target


# Sample sub-folders that come without a store get one on first start: (task, classes).
SAMPLE_PROJECTS = {
    "nuclei": ("instance", [(0, "background", "#000000"), (1, "nucleus", "#FF7F0E")]),
    "aerial": ("semantic", [(0, "unlabeled", "#9B9B9B"), (1, "building", "#3C1098"), (2, "land", "#8429F6"),
                            (3, "road", "#6EC1E4"), (4, "vegetation", "#FEDD3A"), (5, "water", "#E2A929")]),
}


def first_project(folder: Path) -> Path:
    """The samples folder holds several projects (nuclei, aerial): give each a store, open the first."""
    from maskwork.core.domain.annotation import ClassInfo, ClassList
    from maskwork.core.store.names import STORE_DIR
    from maskwork.core.store.project import Project

    if (folder / STORE_DIR).is_dir():
        return folder
    found = []
    for name, (task, classes) in SAMPLE_PROJECTS.items():
        sub = folder / name
        if sub.is_dir():
            if not (sub / STORE_DIR).exists():
                Project.create(sub, ClassList(ClassInfo(*c) for c in classes), task)
            found.append(sub)
    others = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    return (found or others or [folder])[0]


def sample_project(name: str) -> Path | None:
    """File > Open sample: the user's copy of one sample project (nuclei, aerial), with its store."""
    samples = user_samples_folder()
    if samples is None or not (samples / name).is_dir():
        return None
    first_project(samples)  # gives every sample its store on first use
    return samples / name
