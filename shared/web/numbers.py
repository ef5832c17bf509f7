"""Whole numbers typed into query strings and forms."""

from __future__ import annotations


def plain_int(raw: str | None, low: int, high: int) -> int | None:
    """`raw` as an integer from `low` to `high` if it is ASCII digits only, else None: '²' and
    '⑨' pass `str.isdigit` and then fail `int`, and '０９' would pass both."""
    if raw is None or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if low <= value <= high else None
