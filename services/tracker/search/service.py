"""Search for staff:

- a tracking code finds its ticket (the store's unique index);
- a phone number (operators only) is turned into its keyed blind index and the tickets
  carrying that index are found (the store's index on `contact_index`); the number is never
  stored or logged here;
- otherwise every folded word must be in the ticket's address or text: the words index
  (tantivy, engine.py) ranks street phrases first, and the hits are read from the store
  with the principal's visibility, so a handler sees only the department's tickets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

from services.tracker.search.engine import WordsIndex
from services.tracker.search.tokens import tokens
from services.tracker.staff import Principal
from services.tracker.store import TICKETS
from services.tracker.tickets.service import Forbidden, visible_filter
from shared.blind_index import BlindIndex, normalise_phone

CODE = re.compile(r"^[A-Za-z]{2,8}-\d{4}-\d{3,12}$")
PHONE_ROLES = frozenset({"operator"})
MAX_QUERY = 200
MAX_TERMS = 8
FIELDS = {"history": 0, "dup_keys": 0}


@dataclass(frozen=True)
class SearchResult:
    kind: str          # "code", "phone", "words" or "empty"
    items: list[dict[str, Any]]


def ensure_indexes(db: Database) -> None:
    db[TICKETS].create_index([("contact_index", ASCENDING)])


def looks_like_phone(q: str) -> bool:
    return normalise_phone(q) is not None


def search(*, db: Database, principal: Principal, q: str, blind: BlindIndex,
           index: WordsIndex, limit: int = 50) -> SearchResult:
    q = (q or "").strip()[:MAX_QUERY]
    visible = visible_filter(principal)
    if not q:
        return SearchResult("empty", [])
    if CODE.match(q):
        found = db[TICKETS].find_one({"tracking_code": q.upper(), **visible}, FIELDS)
        return SearchResult("code", [found] if found else [])
    if looks_like_phone(q):
        if principal.role not in PHONE_ROLES:
            raise Forbidden("only operators search by the caller's phone number")
        docs = list(db[TICKETS].find({"contact_index": blind.phone(q), **visible}, FIELDS)
                    .sort("created_at", DESCENDING).limit(limit))
        return SearchResult("phone", docs)
    return _words(db=db, visible=visible, q=q, limit=limit, index=index)


def _words(*, db: Database, visible: dict[str, Any], q: str, limit: int,
           index: WordsIndex) -> SearchResult:
    terms = tokens(q)[:MAX_TERMS]
    if not terms:
        return SearchResult("empty", [])
    if visible.get("_id", 1) is None:
        return SearchResult("words", [])
    ids = index.search(terms, department=visible.get("department"), limit=limit)
    if not ids:
        return SearchResult("words", [])
    found = {d["_id"]: d for d in db[TICKETS].find({"_id": {"$in": ids}, **visible}, FIELDS)}
    return SearchResult("words", [found[i] for i in ids if i in found][:limit])
