"""/api/v1/tickets (handlers, operators, supervisors) and /api/v1/citizen (intake, for the
citizen's rating and reopen)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from services.tracker.auth import requires
from services.tracker.deps import deps
from services.tracker.owners.filters import assignee_filter
from services.tracker.tickets import service
from services.tracker.tickets.models import (
    MAX_LIMIT,
    MAX_OFFSET,
    BulkTransitionIn,
    DuplicateIn,
    NoteIn,
    RatingIn,
    ReopenIn,
    RerouteIn,
    TransitionIn,
    TriageIn,
)
from services.tracker.tickets.states import STATES, IllegalTransition
from services.tracker.tickets.views import ticket_out
from shared.taxonomy import CATEGORY_CODES, DISTRICT_CODES
from shared.web.body import json_body, parse_model
from shared.web.problems import Problem, validation_problem

bp = Blueprint("tickets", __name__, url_prefix="/api/v1")
STAFF = ("operator", "handler", "supervisor", "admin")
SLA_STATES = ("on_track", "warning", "breached", "paused", "done")


def _problem(exc: Exception) -> Problem:
    if isinstance(exc, service.TicketNotFound):
        return Problem(404, "Not Found", "No such ticket, or not one you may see.",
                       kind="ticket-not-found")
    if isinstance(exc, IllegalTransition):
        return Problem(409, "Illegal transition", str(exc), kind="illegal-transition",
                       errors=[{"field": "to", "message": str(exc)}])
    if isinstance(exc, service.Conflict):
        return Problem(409, "Conflict", str(exc), kind="edit-conflict")
    if isinstance(exc, service.Forbidden):
        return Problem(403, "Forbidden", str(exc), kind="forbidden")
    if isinstance(exc, service.NotAllowed):
        return Problem(422, "Not allowed", str(exc), kind="not-allowed",
                       errors=[{"field": "body", "message": str(exc)}])
    raise exc


def _run(action: Callable[[], dict[str, Any]]) -> Response:
    try:
        ticket = action()
    except (service.TicketNotFound, IllegalTransition, service.Conflict, service.Forbidden,
            service.NotAllowed) as exc:
        raise _problem(exc) from None
    return jsonify(ticket_out(ticket, history=True))


def _choice(name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name)
    if value is not None and value not in allowed:
        raise validation_problem([{"field": name, "message": f"one of {', '.join(allowed)}"}],
                                 status=400)
    return value


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise validation_problem([{"field": name, "message": f"an integer {low}..{high}"}],
                                 status=422)
    return int(raw)


@bp.get("/me")
@requires(*STAFF, "service")
def me() -> Response:
    p = g.principal
    return jsonify(user=p.user, role=p.role, department=p.department)


@bp.get("/tickets")
@requires(*STAFF)
def list_tickets() -> Response:
    d = deps()
    if request.args.get("q") is not None:  # search (services/tracker/search)
        from services.tracker.search.api import search_response

        return search_response(g.principal, request.args["q"],
                               _int_arg("limit", 50, 1, 200))
    urgent = _choice("urgent", ("true", "false"))
    filters = {
        "state": _choice("state", STATES), "category": _choice("category", CATEGORY_CODES),
        "district": _choice("district", DISTRICT_CODES),
        "department": request.args.get("department"),
        "urgent": None if urgent is None else urgent == "true",
        "sla_state": _choice("sla_state", SLA_STATES),
    }
    filters.update(assignee_filter(request.args.get("assignee"), g.principal))
    docs, total = service.queue(db=d.db, principal=g.principal, filters=filters,
                                limit=_int_arg("limit", 50, 1, MAX_LIMIT),
                                offset=_int_arg("offset", 0, 0, MAX_OFFSET))
    return jsonify(total=total, items=[ticket_out(t) for t in docs])


@bp.get("/triage")
@requires("operator", "supervisor", "admin")
def triage_queue() -> Response:
    d = deps()
    docs, total = service.queue(db=d.db, principal=g.principal,
                                filters={"state": {"$in": ["triage", "rejected"]}},
                                limit=_int_arg("limit", 50, 1, MAX_LIMIT),
                                offset=_int_arg("offset", 0, 0, MAX_OFFSET))
    return jsonify(total=total, items=[ticket_out(t) for t in docs])


@bp.get("/tickets/<ticket_id>")
@requires(*STAFF)
def get_ticket(ticket_id: str) -> Response:
    d = deps()
    return _run(lambda: service.get_ticket(db=d.db, principal=g.principal, ticket_id=ticket_id))


@bp.post("/tickets/<ticket_id>/transitions")
@requires(*STAFF)
def transition(ticket_id: str) -> Response:
    d, body = deps(), parse_model(TransitionIn, json_body())
    return _run(lambda: service.transition(
        db=d.db, config=d.config, principal=g.principal, ticket_id=ticket_id,
        to_state=body.to, note=body.note, public=body.public, now=d.clock()))


@bp.post("/tickets/bulk/transitions")
@requires("handler", "supervisor", "admin")
def bulk_transition() -> Response:
    d, body = deps(), parse_model(BulkTransitionIn, json_body())
    results = []
    for ticket_id in dict.fromkeys(body.ticket_ids):
        try:
            ticket = service.transition(
                db=d.db, config=d.config, principal=g.principal, ticket_id=ticket_id,
                to_state=body.to, note=body.note, public=body.public, now=d.clock())
        except (service.TicketNotFound, IllegalTransition, service.Conflict,
                service.Forbidden, service.NotAllowed) as exc:
            problem = _problem(exc)
            results.append({"ticket_id": ticket_id, "status": problem.status,
                            "error": problem.detail})
            continue
        results.append({"ticket_id": ticket_id, "status": 200, "state": ticket["state"]})
    return jsonify(results=results)


@bp.post("/tickets/<ticket_id>/notes")
@requires(*STAFF)
def add_note(ticket_id: str) -> Response:
    d, body = deps(), parse_model(NoteIn, json_body())
    return _run(lambda: service.add_note(
        db=d.db, config=d.config, principal=g.principal, ticket_id=ticket_id, note=body.note,
        public=body.public, now=d.clock()))


@bp.post("/tickets/<ticket_id>/reroute")
@requires("handler", "supervisor", "admin")
def reroute(ticket_id: str) -> Response:
    d, body = deps(), parse_model(RerouteIn, json_body())
    if body.department and body.department not in d.config.routing.departments():
        raise validation_problem([{"field": "department", "message": "unknown department"}])
    return _run(lambda: service.reroute(
        db=d.db, config=d.config, principal=g.principal, ticket_id=ticket_id,
        category=body.category, department=body.department, note=body.note, now=d.clock()))


@bp.post("/tickets/<ticket_id>/triage")
@requires("operator", "supervisor", "admin")
def triage(ticket_id: str) -> Response:
    d, body = deps(), parse_model(TriageIn, json_body())
    return _run(lambda: service.triage(
        db=d.db, config=d.config, principal=g.principal, ticket_id=ticket_id,
        category=body.category, district=body.district, note=body.note, now=d.clock()))


@bp.post("/tickets/<ticket_id>/duplicate")
@requires("operator", "handler", "supervisor", "admin")
def duplicate(ticket_id: str) -> Response:
    d, body = deps(), parse_model(DuplicateIn, json_body())
    return _run(lambda: service.mark_duplicate(
        db=d.db, config=d.config, principal=g.principal, ticket_id=ticket_id,
        original_id=body.original_id, note=body.note, now=d.clock()))


def _citizen(action: Callable[[], dict[str, Any]]) -> Response:
    try:
        ticket = action()
    except (service.TicketNotFound, IllegalTransition, service.Conflict, service.Forbidden,
            service.NotAllowed) as exc:
        raise _problem(exc) from None
    rating = ticket.get("rating") or {}
    return jsonify(tracking_code=ticket["tracking_code"], state=ticket["state"],
                   rating=rating.get("score"))


@bp.post("/citizen/<tracking_code>/rating")
@requires("service")
def rate(tracking_code: str) -> Response:
    d, body = deps(), parse_model(RatingIn, json_body())
    return _citizen(lambda: service.rate(
        db=d.db, config=d.config, principal=g.principal, tracking_code=tracking_code,
        score=body.score, comment=body.comment, now=d.clock()))


@bp.post("/citizen/<tracking_code>/reopen")
@requires("service")
def reopen(tracking_code: str) -> Response:
    d, body = deps(), parse_model(ReopenIn, json_body())
    return _citizen(lambda: service.reopen(
        db=d.db, config=d.config, principal=g.principal, tracking_code=tracking_code,
        reason=body.reason, now=d.clock()))
