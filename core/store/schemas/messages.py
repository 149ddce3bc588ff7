"""pydantic's ValidationError -> one sentence: "<file>: field <where in it> <what is wrong>; <what to do>"."""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

_JSON_TYPES = ((bool, "true/false"), (int, "a number"), (float, "a number"), (str, "text"), (list, "a list"),
               (dict, "an object"), (type(None), "null"))


def json_type(value: Any) -> str:
    return next((name for t, name in _JSON_TYPES if isinstance(value, t)), type(value).__name__)


def shown(value: Any) -> str:
    """The found value, cut short (a 5,000-digit number or a base64 image is not quoted whole)."""
    text = repr(value) if isinstance(value, (str, int, float, bool)) or value is None else json_type(value)
    return text if len(text) <= 40 else text[:37] + "..."


# what a failed check says, by pydantic's error type; {v}: the value found, {ctx...}: the bound
_PROBLEMS = {
    "missing": "is missing",
    "int_type": "should be a whole number, not {v}",
    "int_parsing": "should be a whole number, not {v}",
    "int_from_float": "should be a whole number, not {v}",
    "float_type": "should be a number, not {v}",
    "finite_number": "should be a finite number, not {v}",
    "string_type": "should be text, not {v}",
    "bool_type": "should be true or false, not {v}",
    "list_type": "should be a list, not {v}",
    "tuple_type": "should be a list, not {v}",
    "dict_type": "should be an object {{...}}, not {v}",
    "model_type": "should be an object {{...}}, not {v}",
    "model_attributes_type": "should be an object {{...}}, not {v}",
    "greater_than_equal": "is {v}, below the smallest allowed value {ge}",
    "greater_than": "is {v}, not above {gt}",
    "less_than_equal": "is {v}, above the largest allowed value {le}",
    "less_than": "is {v}, not below {lt}",
    "literal_error": "is {v}; it should be {expected}",
    "enum": "is {v}; it should be {expected}",
    "too_short": "has {actual_length} item(s), fewer than the {min_length} it needs",
    "too_long": "has {actual_length} item(s), more than the {max_length} allowed",
    "string_too_short": "is empty",
}


def location(loc: tuple) -> str:
    """('corrected', 'instances', 3, 'x0') -> corrected.instances[3].x0 (union branch names left out)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in str(part) or str(part) in ("function-after", "nullable"):
            continue  # pydantic's name for a branch of a union, not a key of the file
        else:
            out += ("." if out else "") + str(part)
    return out


def problem(error: ErrorDetails) -> str:
    template = _PROBLEMS.get(error["type"])
    if template is None:
        return str(error["msg"]).removeprefix("Value error, ")
    try:
        return template.format(v=shown(error.get("input")), **(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return str(error["msg"])


def sentence(exc: ValidationError, where: str, fix: str) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = location(first["loc"])
    if not loc and first["type"] in ("model_type", "dict_type", "model_attributes_type"):
        what = f"should hold a JSON object {{...}}, not {shown(first.get('input'))}"
    elif not loc:
        what = problem(first)
    else:
        what = f"field {loc} {problem(first)}"
    more = len(errors) - 1
    also = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{where}: {what}{also}; {fix}"
