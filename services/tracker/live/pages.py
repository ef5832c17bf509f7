"""`/staff/live`: the staff pages' event stream (stream.py), and what the pages need from
it: the stream's address for each page and the viewers of a ticket without JavaScript."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, request, url_for

from services.tracker.deps import deps
from services.tracker.live import presence
from services.tracker.live.events import VIEWS, WATCH_LIMIT, Subscription
from services.tracker.live.hub import Hub, LiveConfig
from services.tracker.live.stream import PageStream
from services.tracker.pages.session import (
    current_session_id,
    current_staff,
    principal_of_session,
)
from services.tracker.permissions import Action, allowed
from services.tracker.tickets import repository
from shared.web import lifecycle
from shared.web.problems import Problem
from shared.web.routes import Routes

routes = Routes()
EXTENSION = "tracker_live"


def attach(app: Flask, config: LiveConfig) -> Hub:
    """The worker's hub (its thread starts with the first page), closed when the worker
    stops so that open pages end at once instead of holding the shutdown."""
    hub = Hub(app.extensions["tracker"].db, config=config)
    app.extensions[EXTENSION] = hub
    lifecycle.on_stop(hub.close)
    return hub


def hub() -> Hub:
    return current_app.extensions[EXTENSION]


def install(bp: Blueprint) -> None:
    @bp.app_context_processor
    def live() -> dict[str, Any]:
        return {"live_url": live_url}


def live_url(view: str = "page", watch: list[str] | tuple[str, ...] = ()) -> str:
    ids = ",".join(list(watch)[:WATCH_LIMIT])
    return url_for("staff.live", view=view, watch=ids or None)


def _watch_ids() -> list[str]:
    raw = (request.args.get("watch") or "")[:WATCH_LIMIT * 40]
    ids = list(dict.fromkeys(part for part in raw.split(",") if part))
    if len(ids) > WATCH_LIMIT or any(len(i) > 32 for i in ids):
        raise Problem(400, "Bad Request", f"watch: at most {WATCH_LIMIT} ticket ids",
                      errors=[{"field": "watch", "message": "too many or too long ids"}])
    return ids


@routes.get("/live")
def live() -> Response:
    """Server-Sent Events for the page that opened it (`view`: page, queue, ticket,
    dashboard; `watch`: the ticket ids the page shows, the ticket's own for `ticket`)."""
    principal = current_staff()
    if principal is None:
        raise Problem(401, "Unauthorized", "Log in to the staff pages first.",
                      kind="unauthorized")
    view = request.args.get("view") or "page"
    if view not in VIEWS:
        raise Problem(400, "Bad Request", f"view: one of {', '.join(VIEWS)}",
                      errors=[{"field": "view", "message": "unknown view"}])
    if not allowed(principal.role, Action.VIEW_TICKETS) or (
            view == "dashboard" and not allowed(principal.role, Action.VIEW_STATS)):
        raise Problem(403, "Forbidden", "This view is for other roles.", kind="forbidden")
    d = deps()
    ids = _watch_ids()
    if view == "ticket" and len(ids) != 1:
        raise Problem(400, "Bad Request", "watch: the ticket's id",
                      errors=[{"field": "watch", "message": "one ticket id"}])
    visible = {t["_id"] for t in repository.visible_by_ids(d.db, principal, ids)} if ids \
        else set()
    if view == "ticket" and not visible:
        raise Problem(404, "Not Found", "No such ticket.", kind="not_found")
    inbox = hub().subscribe(Subscription(principal, view, visible))  # type: ignore[arg-type]
    if inbox is None:
        raise Problem(503, "Service Unavailable", "Too many open pages on this worker; the "
                      "page keeps refreshing itself.", headers={"Retry-After": "30"})
    session = current_session_id()

    def still_allowed() -> bool:
        return session is not None and principal_of_session(d, session) == principal

    stream = PageStream(hub=hub(), inbox=inbox, db=d.db, clock=d.clock,
                        still_allowed=still_allowed)
    return Response(stream.events(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def ticket_viewers(ticket_id: str) -> list[str]:
    """Who else has the ticket open; the page load itself counts as viewing it (the page
    without JavaScript shows the same)."""
    d = deps()
    me = current_staff()
    presence.touch(d.db, ticket_id=ticket_id, user=me.user, now=d.clock())
    return presence.viewers(d.db, ticket_id=ticket_id, now=d.clock(), without=me.user)
