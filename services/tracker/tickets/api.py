"""/api/v1/tickets (handlers, operators, supervisors) and /api/v1/citizen (intake, for the
citizen's rating and reopen)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from services.tracker.auth import requires
from services.tracker.deps import deps
from services.tracker.owners.filters import assignee_filter
from services.tracker.permissions import Action
from services.tracker.tickets import repository, service
from services.tracker.tickets.models import (
    MAX_LIMIT,
    MAX_OFFSET,
    BulkTransitionIn,
    CitizenReplyIn,
    DuplicateIn,
    NoteIn,
    RatingIn,
    ReopenIn,
    RerouteIn,
    TransitionIn,
    TriageIn,
)
from services.tracker.tickets.render import ticket_out
from services.tracker.tickets.repository import TicketFilter
from shared.errors import DomainError
from shared.taxonomy import CATEGORY_CODES, DISTRICT_CODES
from shared.tickets import SLA_STATES, STATES, TRIAGE_STATES, SlaState, TicketState
from shared.web.body import json_body, parse_model
from shared.web.numbers import plain_int
from shared.web.problems import validation_problem

bp = Blueprint("tickets", __name__, url_prefix="/api/v1")


def _ticket(ticket: dict[str, Any]) -> Response:
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
    value = plain_int(raw, low, high)
    if value is None:
        raise validation_problem([{"field": name, "message": f"an integer {low}..{high}"}],
                                 status=422)
    return value


@bp.get("/me")
@requires(Action.WHO_AM_I)
def me() -> Response:
    p = g.principal
    return jsonify(user=p.user, role=p.role, department=p.department)


@bp.get("/tickets")
@requires(Action.VIEW_TICKETS)
def list_tickets() -> Response:
    d = deps()
    if request.args.get("q") is not None:  # search (services/tracker/search)
        from services.tracker.search.api import search_response

        return search_response(g.principal, request.args["q"],
                               _int_arg("limit", 50, 1, 200))
    urgent = _choice("urgent", ("true", "false"))
    state, sla_state = _choice("state", STATES), _choice("sla_state", SLA_STATES)
    filters = TicketFilter(
        states=None if state is None else (TicketState(state),),
        category=_choice("category", CATEGORY_CODES),
        district=_choice("district", DISTRICT_CODES),
        department=request.args.get("department"),
        urgent=None if urgent is None else urgent == "true",
        sla_state=None if sla_state is None else SlaState(sla_state),
        **assignee_filter(request.args.get("assignee"), g.principal))
    docs, total = repository.queue(d.db, principal=g.principal, filters=filters,
                                   limit=_int_arg("limit", 50, 1, MAX_LIMIT),
                                   offset=_int_arg("offset", 0, 0, MAX_OFFSET))
    return jsonify(total=total, items=[ticket_out(t) for t in docs])


@bp.get("/triage")
@requires(Action.TRIAGE)
def triage_queue() -> Response:
    d = deps()
    docs, total = repository.queue(d.db, principal=g.principal,
                                   filters=TicketFilter(states=TRIAGE_STATES),
                                   limit=_int_arg("limit", 50, 1, MAX_LIMIT),
                                   offset=_int_arg("offset", 0, 0, MAX_OFFSET))
    return jsonify(total=total, items=[ticket_out(t) for t in docs])


@bp.get("/tickets/<ticket_id>")
@requires(Action.VIEW_TICKETS)
def get_ticket(ticket_id: str) -> Response:
    d = deps()
    return _ticket(service.get_ticket(db=d.db, principal=g.principal, ticket_id=ticket_id))


@bp.post("/tickets/<ticket_id>/transitions")
@requires(Action.TRANSITION)
def transition(ticket_id: str) -> Response:
    d, body = deps(), parse_model(TransitionIn, json_body())
    return _ticket(service.transition(
        db=d.db, config=d.config, principal=g.principal, ticket_id=ticket_id,
        to_state=body.to, note=body.note, public=body.public, now=d.clock()))


@bp.post("/tickets/bulk/transitions")
@requires(Action.BULK_TRANSITION)
def bulk_transition() -> Response:
    d, body = deps(), parse_model(BulkTransitionIn, json_body())
    results = []
    for ticket_id, outcome in service.bulk_transition(
            db=d.db, config=d.config, principal=g.principal, ticket_ids=body.ticket_ids,
            to_state=body.to, note=body.note, public=body.public, now=d.clock()):
        if isinstance(outcome, DomainError):
            results.append({"ticket_id": ticket_id, "status": outcome.status,
                            "error": outcome.detail})
        else:
            results.append({"ticket_id": ticket_id, "status": 200, "state": outcome["state"]})
    return jsonify(results=results)


@bp.post("/tickets/<ticket_id>/notes")
@requires(Action.ADD_NOTE)
def add_note(ticket_id: str) -> Response:
    d, body = deps(), parse_model(NoteIn, json_body())
    return _ticket(service.add_note(
        db=d.db, config=d.config, principal=g.principal, ticket_id=ticket_id, note=body.note,
        public=body.public, now=d.clock()))


@bp.post("/tickets/<ticket_id>/reroute")
@requires(Action.REROUTE)
def reroute(ticket_id: str) -> Response:
    d, body = deps(), parse_model(RerouteIn, json_body())
    if body.department and body.department not in d.config.routing.departments():
        raise validation_problem([{"field": "department", "message": "unknown department"}])
    return _ticket(service.reroute(
        db=d.db, config=d.config, principal=g.principal, ticket_id=ticket_id,
        category=body.category, department=body.department, note=body.note, now=d.clock()))


@bp.post("/tickets/<ticket_id>/triage")
@requires(Action.TRIAGE)
def triage(ticket_id: str) -> Response:
    d, body = deps(), parse_model(TriageIn, json_body())
    return _ticket(service.triage(
        db=d.db, config=d.config, principal=g.principal, ticket_id=ticket_id,
        category=body.category, district=body.district, note=body.note, now=d.clock()))


@bp.post("/tickets/<ticket_id>/duplicate")
@requires(Action.MARK_DUPLICATE)
def duplicate(ticket_id: str) -> Response:
    d, body = deps(), parse_model(DuplicateIn, json_body())
    return _ticket(service.mark_duplicate(
        db=d.db, config=d.config, principal=g.principal, ticket_id=ticket_id,
        original_id=body.original_id, note=body.note, now=d.clock()))


def _citizen(ticket: dict[str, Any]) -> Response:
    rating = ticket.get("rating") or {}
    return jsonify(tracking_code=ticket["tracking_code"], state=ticket["state"],
                   rating=rating.get("score"))


@bp.post("/citizen/<tracking_code>/rating")
@requires(Action.CITIZEN_RATE)
def rate(tracking_code: str) -> Response:
    d, body = deps(), parse_model(RatingIn, json_body())
    return _citizen(service.rate(
        db=d.db, config=d.config, principal=g.principal, tracking_code=tracking_code,
        score=body.score, comment=body.comment, now=d.clock()))


@bp.post("/citizen/<tracking_code>/reopen")
@requires(Action.CITIZEN_REOPEN)
def reopen(tracking_code: str) -> Response:
    d, body = deps(), parse_model(ReopenIn, json_body())
    return _citizen(service.reopen(
        db=d.db, config=d.config, principal=g.principal, tracking_code=tracking_code,
        reason=body.reason, now=d.clock()))


@bp.post("/citizen/<tracking_code>/reply")
@requires(Action.CITIZEN_REPLY)
def citizen_reply(tracking_code: str) -> Response:
    d, body = deps(), parse_model(CitizenReplyIn, json_body())
    return _citizen(service.citizen_reply(
        db=d.db, config=d.config, principal=g.principal, tracking_code=tracking_code,
        text=body.text, photo_ids=body.photo_ids, now=d.clock()))
