"""Folded search tokens: lower case, no diacritics, đ -> d, words of letters and digits.
"duong ngap" and "Đường ngập" give the same tokens."""

from __future__ import annotations

import re

from services.tracker.duplicates import fold

_WORD = re.compile(r"[a-z0-9]+")
MAX_TOKENS = 400  # a ticket's description is at most 4,000 characters


def tokens(text: str | None) -> list[str]:
    """The distinct folded words of the text, in order of first appearance."""
    if not text:
        return []
    return list(dict.fromkeys(_WORD.findall(fold(text))))[:MAX_TOKENS]


def phrase(text: str | None) -> str:
    """The folded words joined by one space: for phrase matches ("dien bien phu")."""
    return " ".join(_WORD.findall(fold(text or "")))
