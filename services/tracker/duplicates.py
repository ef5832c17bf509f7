"""Duplicate suggestions: same category and district within a window, and similar text.

Similarity is the Jaccard index of word bigrams and character 4-grams over the folded text
(lower case, no diacritics, đ as d), so a report typed without accents matches one with them.
Candidates are found through MinHash band keys stored on each ticket (`dup_keys`):
two texts share a band key with a probability that grows with their similarity (about 97% at
Jaccard 0.5 with 12 bands of 2), so a busy district costs a comparison of band keys, not of texts.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from services.tracker.tickets import repository

_WORD = re.compile(r"[a-z0-9]+")
_PRIME = (1 << 61) - 1
_BANDS, _ROWS = 12, 2
# fixed so that every process computes the same keys
_SEEDS = [((i * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % _PRIME | 1,
           (i * 0xC2B2AE3D27D4EB4F + 0x165667B19E3779F9) % _PRIME)
          for i in range(_BANDS * _ROWS)]
MAX_CANDIDATES = 5


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def shingles(text: str) -> frozenset[str]:
    words = _WORD.findall(fold(text))
    grams = {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}
    joined = " ".join(words)
    grams.update(joined[i:i + 4] for i in range(max(len(joined) - 3, 0)))
    return frozenset(grams)


def band_keys(grams: frozenset[str]) -> list[str]:
    if not grams:
        return []
    hashes = [zlib.crc32(g.encode("utf-8")) for g in grams]
    mins = [min((a * h + b) % _PRIME for h in hashes) for a, b in _SEEDS]
    return [f"{band}:{mins[band * _ROWS]:x}:{mins[band * _ROWS + 1]:x}"
            for band in range(_BANDS)]


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def suggest_many(*, db: Database, tickets: list[dict[str, Any]], now: datetime,
                 window: timedelta, threshold: float, limit: int = 3) -> None:
    """Set `duplicate_candidates` on new tickets: open tickets they may duplicate, most similar
    first (earlier tickets of the batch count too). One indexed query per category and
    district of the batch reads the band keys of the open tickets (the embedded store answers
    an `$in` over many band keys very slowly); a second reads the texts of those that share a
    band key with a new ticket."""
    keyed = [t for t in tickets if t.get("district") and t.get("dup_keys")]
    for ticket in tickets:
        ticket["duplicate_candidates"] = []
    if not keyed:
        return
    pairs = {(t["category"], t["district"]) for t in keyed}
    stored = repository.similar_open(db, pairs=pairs, since=now - window, now=now)
    texts: dict[str, str] = {t["_id"]: t["description"] for t in keyed}
    pool: list[dict[str, Any]] = stored
    chosen: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for ticket in keyed:
        mine_keys = set(ticket["dup_keys"])
        chosen.append((ticket, [c for c in pool
                                if c["_id"] != ticket["_id"]
                                and c["category"] == ticket["category"]
                                and c["district"] == ticket["district"]
                                and mine_keys.intersection(c["dup_keys"])][:MAX_CANDIDATES]))
        pool = [ticket, *pool]  # newest first, like the stored ones
    wanted = sorted({c["_id"] for _, cs in chosen for c in cs} - texts.keys())
    if wanted:
        texts.update(repository.descriptions(db, wanted))
    for ticket, candidates in chosen:
        mine = shingles(ticket["description"])
        scored = [(similarity(mine, shingles(texts.get(c["_id"], ""))), c) for c in candidates]
        scored = sorted(((s, c) for s, c in scored if s >= threshold), key=lambda p: -p[0])
        ticket["duplicate_candidates"] = [
            {"ticket_id": c["_id"], "tracking_code": c["tracking_code"], "score": round(s, 3)}
            for s, c in scored[:limit]]
