"""The search page behind the search box of every staff page."""

from __future__ import annotations

from flask import request

from services.tracker.pages.common import render
from services.tracker.pages.session import current_staff, requires_staff
from services.tracker.permissions import Action
from services.tracker.search import service
from services.tracker.search.api import run
from services.tracker.search.engine import IndexNotReady
from services.tracker.tickets.errors import Forbidden
from services.tracker.tickets.render import ticket_out
from shared.web.i18n import translate
from shared.web.routes import Routes

routes = Routes()


@routes.get("/search")
@requires_staff(Action.SEARCH)
def search() -> tuple[str, int]:
    q = (request.args.get("q") or "").strip()[:service.MAX_QUERY]
    error, items, kind, status = None, [], "empty", 200
    try:
        result = run(current_staff(), q, 50)
        items, kind = [ticket_out(t) for t in result.items], result.kind
    except Forbidden:
        error, status = translate("search.phone_forbidden"), 403
    except IndexNotReady:
        error, status = translate("search.building"), 503
    return render("search.html", status if error else 200, search_q=q, results=items,
                  kind=kind, error=error)

