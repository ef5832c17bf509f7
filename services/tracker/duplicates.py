"""Duplicate suggestions: same category and district within a window, and similar text.

Similarity is the Jaccard index of word bigrams and character 4-grams over the folded text
(lower case, no diacritics, đ as d), so a report typed without accents matches one with them.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from services.tracker.store import OPEN_STATES, TICKETS

_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def shingles(text: str) -> frozenset[str]:
    words = _WORD.findall(fold(text))
    grams = {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}
    joined = " ".join(words)
    grams.update(joined[i:i + 4] for i in range(max(len(joined) - 3, 0)))
    return frozenset(grams)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def suggest(*, db: Database, ticket: dict[str, Any], now: datetime, window: timedelta,
            threshold: float, limit: int = 3) -> list[dict[str, Any]]:
    """Open tickets this one may duplicate, most similar first."""
    if not ticket.get("district"):
        return []
    candidates = db[TICKETS].find(
        {"category": ticket["category"], "district": ticket["district"],
         "created_at": {"$gte": now - window}, "state": {"$in": list(OPEN_STATES)},
         "_id": {"$ne": ticket["_id"]}, "duplicate_of": None},
        {"description": 1, "tracking_code": 1}).limit(500)
    mine = shingles(ticket["description"])
    scored = [(similarity(mine, shingles(c["description"])), c) for c in candidates]
    scored = [(s, c) for s, c in scored if s >= threshold]
    scored.sort(key=lambda pair: -pair[0])
    return [{"ticket_id": c["_id"], "tracking_code": c["tracking_code"], "score": round(s, 3)}
            for s, c in scored[:limit]]
