"""`GET /api/v1/tickets?q=…` (the tickets list with a query) and the search page."""

from __future__ import annotations

import threading

from flask import Flask, Response, current_app, jsonify

from services.tracker.deps import deps
from services.tracker.search import service
from services.tracker.search.engine import IndexNotReady, WordsIndex
from services.tracker.staff import Principal
from services.tracker.tickets.errors import Forbidden
from services.tracker.tickets.render import ticket_out
from shared.blind_index import BlindIndex
from shared.web.problems import Problem, validation_problem

_LOCK = threading.Lock()


def words_index(app: Flask | None = None) -> WordsIndex:
    """This process's words index, built from the store on first use."""
    app = app or current_app
    index = app.extensions.get("tracker_words")
    if index is None:
        with _LOCK:
            index = app.extensions.get("tracker_words")
            if index is None:
                index = app.extensions["tracker_words"] = WordsIndex(
                    app.extensions["tracker"].db)
    return index


def blind_index() -> BlindIndex:
    return BlindIndex(deps().settings.contact_index_key)


def run(principal: Principal, q: str, limit: int) -> service.SearchResult:
    d = deps()
    return service.search(db=d.db, principal=principal, q=q, blind=blind_index(),
                          index=words_index(), limit=limit)


def search_response(principal: Principal, q: str, limit: int) -> Response:
    if len(q) > service.MAX_QUERY:
        raise validation_problem([{"field": "q", "message":
                                   f"at most {service.MAX_QUERY} characters"}], status=422)
    try:
        result = run(principal, q, limit)
    except IndexNotReady:
        raise Problem(503, "Service Unavailable", "The search index is being built; try "
                      "again in a few seconds.", kind="search-index-building",
                      headers={"Retry-After": "5"}) from None
    except Forbidden as exc:
        raise Problem(403, "Forbidden", str(exc), kind="forbidden",
                      errors=[{"field": "q", "message": str(exc)}]) from None
    return jsonify(total=len(result.items), kind=result.kind,
                   items=[ticket_out(t) for t in result.items])
