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

from pymongo.database import Database

from services.tracker.permissions import Action
from services.tracker.search.engine import WordsIndex
from services.tracker.search.tokens import tokens
from services.tracker.staff import Principal
from services.tracker.tickets import repository
from services.tracker.tickets.service import require
from shared.blind_index import BlindIndex, normalise_phone

CODE = re.compile(r"^[A-Za-z]{2,8}-\d{4}-\d{3,12}$")
MAX_QUERY = 200
MAX_TERMS = 8


@dataclass(frozen=True)
class SearchResult:
    kind: str          # "code", "phone", "words" or "empty"
    items: list[dict[str, Any]]


def looks_like_phone(q: str) -> bool:
    return normalise_phone(q) is not None


def search(*, db: Database, principal: Principal, q: str, blind: BlindIndex,
           index: WordsIndex, limit: int = 50) -> SearchResult:
    require(principal, Action.SEARCH)
    q = (q or "").strip()[:MAX_QUERY]
    if not q:
        return SearchResult("empty", [])
    if CODE.match(q):
        found = repository.visible_by_code(db, principal, q.upper())
        return SearchResult("code", [found] if found else [])
    if looks_like_phone(q):
        require(principal, Action.SEARCH_BY_PHONE)
        return SearchResult("phone", repository.visible_by_contact_index(
            db, principal, blind.phone(q), limit=limit))
    return _words(db=db, principal=principal, q=q, limit=limit, index=index)


def _words(*, db: Database, principal: Principal, q: str, limit: int,
           index: WordsIndex) -> SearchResult:
    terms = tokens(q)[:MAX_TERMS]
    if not terms:
        return SearchResult("empty", [])
    visible = repository.visible_filter(principal)
    if visible.get("_id", 1) is None:
        return SearchResult("words", [])
    ids = index.search(terms, department=visible.get("department"), limit=limit)
    if not ids:
        return SearchResult("words", [])
    return SearchResult("words", repository.visible_by_ids(db, principal, ids)[:limit])
