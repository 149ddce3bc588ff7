"""Counts in words for messages: "1 image", "2 images" (never "1 images")."""
from __future__ import annotations

IRREGULAR = {"class": "classes", "was": "were", "is": "are", "has": "have"}


def plural(n: int, word: str, many: str | None = None) -> str:
    """`n` and `word`, the plural form when n != 1 (`many`, an irregular form, or word + "s")."""
    if n == 1:
        return f"{n} {word}"
    return f"{n} {many or IRREGULAR.get(word) or word + 's'}"
