"""A model's classes matched to a project's (or a dataset's) by name, not by number.

Names match case-insensitively after trimming. The model's background (class 0 named background,
unlabeled, void...) always lands on the target's 0, whatever the target calls it; a model's class 0 of
another name does too unless a target class has that name. Model classes with
no match are either ignored (pixels -> 0, instances dropped) or added to the target class list
(`add_unmatched`, keeping the model's colours).
"""
from __future__ import annotations

import numpy as np

from maskwork.core.domain.annotation import IGNORE_NAMES, UNLABELED, ClassInfo, ClassList

BACKGROUND_NAMES = {"background", "__background__", "bg", "none", *IGNORE_NAMES}


def norm(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def is_background(info: ClassInfo) -> bool:
    return info.id == UNLABELED and norm(info.name) in BACKGROUND_NAMES


class ClassMap:
    """model class id -> target class id; `unmatched` lists the model classes that have none."""

    def __init__(self, model: ClassList, target: ClassList) -> None:
        self.model, self.target = model, target
        self._build()

    def _build(self) -> None:
        exact = {c.name: c.id for c in self.target}
        loose: dict[str, int] = {}
        for c in self.target:  # of two case-insensitive twins the first listed wins
            loose.setdefault(norm(c.name), c.id)
        self.pairs: dict[int, int] = {}
        self.unmatched: list[ClassInfo] = []
        for c in self.model:
            if is_background(c):
                self.pairs[c.id] = UNLABELED
            elif c.name in exact:
                self.pairs[c.id] = exact[c.name]
            elif norm(c.name) in loose:
                self.pairs[c.id] = loose[norm(c.name)]
            elif c.id == UNLABELED:  # label value 0 means "no class" in every label map
                self.pairs[c.id] = UNLABELED
            else:
                self.unmatched.append(c)

    # ---- queries --------------------------------------------------------------------------------
    @property
    def matched(self) -> list[tuple[ClassInfo, ClassInfo | None]]:
        """(model class, target class) of each matched non-background model class."""
        out = []
        for c in self.model:
            if c.id in self.pairs and not (c.id == UNLABELED and self.pairs[c.id] == UNLABELED):
                tid = self.pairs[c.id]
                out.append((c, self.target.get(tid) if tid in self.target else None))
        return out

    def is_identity(self) -> bool:
        return not self.unmatched and all(m == t for m, t in self.pairs.items())

    def lut(self) -> np.ndarray:
        """Lookup table over model ids: model id -> target id (0 for unmatched or unknown ids)."""
        top = max([*self.model.ids(), 0]) + 1
        big = max([*self.target.ids(), 0]) > 255
        table = np.zeros(max(top, 256), np.uint16 if big else np.uint8)
        for m, t in self.pairs.items():
            table[m] = t
        return table

    # ---- applying -------------------------------------------------------------------------------
    def apply_label_map(self, label_map: np.ndarray) -> np.ndarray:
        table = self.lut()
        if int(label_map.max(initial=0)) >= len(table):
            table = np.concatenate([table, np.zeros(int(label_map.max()) + 1 - len(table), table.dtype)])
        return table[label_map]

    def apply_class_ids(self, class_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(target ids, keep): keep is False for instances whose class has no match (to be dropped)."""
        ids = np.asarray(class_ids, np.int64)
        keep = np.array([int(i) in self.pairs and self.pairs[int(i)] != UNLABELED for i in ids], bool)
        mapped = np.array([self.pairs.get(int(i), UNLABELED) for i in ids], np.int64)
        return mapped, keep

    def add_unmatched(self) -> list[ClassInfo]:
        """Add every unmatched model class to the target class list (model colours); returns them."""
        added = [self.target.add(c.name.strip(), c.color) for c in self.unmatched]
        self._build()
        return added

    # ---- words ----------------------------------------------------------------------------------
    def unmatched_names(self) -> list[str]:
        return [c.name for c in self.unmatched]

    def mapping_lines(self, target_word: str = "dataset", limit: int = 10) -> list[str]:
        """What was matched to what, then one line for the rest (for `evaluate` and logs)."""
        lines = []
        for m, t in self.matched[:limit]:
            lines.append(f"model {m.name} -> {target_word} {t.name if t else '?'} (id {self.pairs[m.id]})")
        if len(self.matched) > limit:
            lines.append(f"... and {len(self.matched) - limit} more model classes matched by name")
        if not self.matched:
            lines.append(f"no model class matches a {target_word} class by name")
        if self.unmatched:
            lines.append(f"{len(self.unmatched)} model classes not in the {target_word}, ignored: "
                         + _names(self.unmatched_names()))
        return lines


def _names(names: list[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (f", ... ({len(names)})" if len(names) > limit else "")



def fit_warning(model: str, model_task: str, model_classes: ClassList, project_task: str,
                project_classes: ClassList, choice: str | None = None) -> str:
    """One line saying how the model's task or classes do not fit the project ('' when they fit)."""
    parts = []
    if model_task != project_task:
        how = ("its objects are painted into a label map, higher scores on top" if model_task == "instance"
               else "each connected region of a class becomes one object")
        article = "an" if model_task == "instance" else "a"
        parts.append(f"{model} is {article} {model_task} model and this project is {project_task}: {how}.")
    cmap = ClassMap(model_classes, project_classes)
    if cmap.unmatched:
        names = _names(cmap.unmatched_names())
        if not cmap.matched:
            tail = {"add": "they will be added to the project",
                    "ignore": "its output is ignored"}.get(choice or "", "its output would be ignored")
            parts.append(f"None of {model}'s classes ({names}) is in this project; {tail}.")
        elif choice == "add":
            parts.append(f"{len(cmap.unmatched)} of the model's classes are not in the project and will be "
                         f"added at the next run ({names}).")
        elif choice == "ignore":
            parts.append(f"{len(cmap.unmatched)} of the model's classes are not in the project and are ignored "
                         f"({names}).")
        else:
            parts.append(f"{len(cmap.unmatched)} of the model's classes are not in the project ({names}): "
                         "add them, or ignore them.")
    return " ".join(parts)


def unknown_warning(model: str, unmatched: list[str], choice: str) -> str:
    """The CLI's one line about unmatched model classes ('' when every model class matched)."""
    if not unmatched:
        return ""
    if choice == "add":
        return f"note: {model}: added {len(unmatched)} model classes to the project: {_names(unmatched)}"
    return (f"warning: {model}: {len(unmatched)} model classes are not in the project and were ignored "
            f"({_names(unmatched)}); pass --unknown-classes add to add them.")
