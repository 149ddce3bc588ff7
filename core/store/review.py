"""The per-image "reviewed" mark: a person looked at this image's masks and approved them.

Stored in the project's settings (project.json, `"reviewed": [sorted image names]`), not in the
per-image files: the image list shows and filters it for every image without reading 5,000
annotation files, and a change is journaled at once like a class-list change (Project.journal_classes,
ADR 0007), so a crash does not lose it. COCO export writes it on each image as
`"attributes": {"reviewed": true|false}` (once any image is marked); COCO import reads it back (ADR 0013).
"""
from __future__ import annotations

from typing import Iterable

from maskwork.core.domain.errors import InputError
from maskwork.core.store.names import PROJECT_FILE
from maskwork.core.store.schemas import ProjectFile, load_json

KEY = "reviewed"           # project.settings key
COCO_ATTRIBUTES = "attributes"  # image-level attributes dict in COCO, as CVAT writes for annotations


def reviewed_names(project) -> set[str]:
    """Names of the images marked reviewed (a set: membership tests for the whole list are cheap)."""
    return set(project.settings.get(KEY, []))


def saved_reviewed_names(project) -> set[str]:
    """The marks as the saved project.json has them (none when there is no saved file or it cannot be
    read): what "unsaved" compares with after unsaved marks were recovered from the journal."""
    try:
        meta = load_json(project.store / PROJECT_FILE, ProjectFile)
        return set(meta.get("settings", {}).get(KEY, []))
    except (OSError, InputError):
        return set()


def is_reviewed(project, name: str) -> bool:
    return name in reviewed_names(project)


def set_reviewed(project, names: Iterable[str], reviewed: bool = True) -> list[str]:
    """Mark (or unmark) images; returns the names whose mark changed. Journaled at once (crash-safe)."""
    marks = reviewed_names(project)
    names = list(dict.fromkeys(names))
    changed = [n for n in names if (n in marks) != reviewed]
    if not changed:
        return []
    marks = marks | set(changed) if reviewed else marks - set(changed)
    project.settings[KEY] = sorted(marks)
    project.journal_classes()  # project.json's journal entry: on disk within about a second
    return changed


def next_unreviewed(names: list[str], current: str | None, marks: set[str]) -> str | None:
    """The first unreviewed image after `current` in `names` (wrapping round), or None when all are."""
    start = names.index(current) + 1 if current in names else 0
    for name in names[start:] + names[:start]:
        if name not in marks and name != current:
            return name
    return None


def coco_attributes(project, names: Iterable[str], carried: dict[str, dict]) -> dict[str, dict]:
    """Per-image extras for COCO export: what was carried from an import, with the reviewed mark of now.

    Once the project marks any image, every image says `"attributes": {"reviewed": true|false}` (other
    attributes carried from an import are kept). A project that never marked one writes its images as
    they came (an imported dataset goes back out unchanged), except where the import carried a mark."""
    marks = reviewed_names(project)
    out = {}
    for name in names:
        extra = dict(carried.get(name, {}))
        attributes = extra.get(COCO_ATTRIBUTES)
        attributes = dict(attributes) if isinstance(attributes, dict) else {}
        if marks or KEY in attributes:
            attributes[KEY] = name in marks
            extra[COCO_ATTRIBUTES] = attributes
        out[name] = extra
    return out


def reviewed_in_coco(image_extra: dict) -> bool | None:
    """The reviewed mark of one COCO image entry's extra fields: True / False, or None when absent."""
    attributes = image_extra.get(COCO_ATTRIBUTES)
    value = attributes.get(KEY) if isinstance(attributes, dict) else None
    return value if isinstance(value, bool) else None
