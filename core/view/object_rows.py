"""Rows of the Objects panel and its filter, kept apart from the widgets.

Filter text: words that must all match. `score<0.5`, `area>=200`, `id=12` compare a number
(<, <=, >, >=, =); `hidden`, `locked` match flagged rows, `box` the box-only objects; any other word
is looked for in the class name, the source ("model" / "by hand") and the object's "#id".

A box-only object (no mask yet, core/editing/box_ops.py) is listed like any object; its area is its
box's w x h (as COCO export writes it), marked as a box area by the panel.
"""
from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from maskwork.core.editing.box_ops import is_box_only
from maskwork.core.view.objects import class_areas

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq, "==": operator.eq}
_COMPARE = re.compile(r"^(score|area|id)(<=|>=|==|<|>|=)(-?\d+(?:\.\d*)?|-?\.\d+)$")
_FLAG_WORDS = {"hidden": "hidden", "locked": "locked", "box": "box_only"}  # filter word -> Row field
# Source values as shown: "person" (drawn by a person) would read as COCO's class of that name
SOURCE_TEXT = {"model": "model", "person": "by hand", "refined": "model, refined"}
FILTER_HELP = ("Filter: class or source words, #id, hidden, locked, box (box-only objects), or score<0.5, "
               "area>=200, id=12 (all words must match)")


@dataclass
class Row:
    kind: str                  # "object" or "class"
    class_id: int
    class_name: str
    area: int
    id: int | None = None      # instance id (objects)
    source: str = ""
    score: float | None = None
    hidden: bool = False
    locked: bool = False
    box_only: bool = False     # no mask yet: `area` is the box's w x h

    def text(self) -> str:
        tag = f"#{self.id}" if self.id is not None else ""
        return f"{self.class_name} {self.source} {tag}{' box' if self.box_only else ''}".lower()


def class_name(classes, class_id: int) -> str:
    try:
        return classes.get(class_id).name
    except (KeyError, AttributeError):
        return f"class {class_id}"


def object_rows(layer, classes, flags) -> list[Row]:
    """One row per object of `layer` (the corrected layer of the current image): each instance with
    pixels, and each box-only object (area = its box's w x h)."""
    rows = []
    for inst in [] if layer is None else layer.instances:
        box_only = is_box_only(inst)
        if inst.mask.is_empty and not box_only:
            continue
        area = round(inst.box[2] * inst.box[3]) if box_only else inst.mask.area
        rows.append(Row("object", inst.class_id, class_name(classes, inst.class_id), area, inst.id,
                        _source_text(inst.source), inst.score,
                        flags.is_hidden(inst), flags.is_locked(inst), box_only))
    return rows


def _source_text(source) -> str:
    value = getattr(source, "value", str(source))
    return SOURCE_TEXT.get(value, value)


def class_rows(layer, classes, flags, keep=()) -> list[Row]:
    """Semantic: one row per class present in the label map (plus `keep`: hidden or locked ones)."""
    areas = class_areas(None if layer is None else layer.label_map)
    ids = sorted(set(areas) | set(keep))
    return [Row("class", c, class_name(classes, c), areas.get(c, 0), hidden=c in flags.hidden_classes,
                locked=c in flags.locked_classes) for c in ids]


def parse_filter(text: str) -> Callable[[Row], bool]:
    """A predicate Row -> bool for the filter text (an unknown comparison is matched as a word)."""
    tests: list[Callable[[Row], bool]] = []
    for word in text.lower().split():
        m = _COMPARE.match(word)
        if m:
            tests.append(_compares(m.group(1), _OPS[m.group(2)], float(m.group(3))))
        elif word in _FLAG_WORDS:
            tests.append(_flag_set(_FLAG_WORDS[word]))
        else:
            tests.append(_has_word(word))
    return lambda row: all(t(row) for t in tests)


def _compares(field: str, op: Callable[[Any, Any], bool], value: float) -> Callable[[Row], bool]:
    return lambda r: getattr(r, field) is not None and op(getattr(r, field), value)


def _flag_set(field: str) -> Callable[[Row], bool]:
    return lambda r: getattr(r, field)


def _has_word(word: str) -> Callable[[Row], bool]:
    return lambda r: word in r.text()
