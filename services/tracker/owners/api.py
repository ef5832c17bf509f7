"""/api/v1 owners: take, assign (one or in bulk), the supervisor's load and per-handler
figures, availability and round-robin."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from services.tracker.auth import requires
from services.tracker.deps import deps
from services.tracker.owners import service
from services.tracker.owners.models import (
    AssignIn,
    AvailabilityIn,
    BulkAssignIn,
    RoundRobinIn,
)
from services.tracker.permissions import Action
from services.tracker.tickets.render import ticket_out
from shared.web.body import json_body, parse_model
from shared.web.numbers import plain_int
from shared.web.problems import validation_problem

bp = Blueprint("owners", __name__, url_prefix="/api/v1")


def _ticket(ticket: dict[str, Any]) -> Response:
    return jsonify(ticket_out(ticket, history=True))


@bp.post("/tickets/<ticket_id>/take")
@requires(Action.TAKE)
def take(ticket_id: str) -> Response:
    d = deps()
    return _ticket(service.take(db=d.db, config=d.config, principal=g.principal,
                                ticket_id=ticket_id, now=d.clock()))


@bp.post("/tickets/<ticket_id>/assignee")
@requires(Action.ASSIGN)
def assign(ticket_id: str) -> Response:
    d, body = deps(), parse_model(AssignIn, json_body())
    return _ticket(service.give(db=d.db, config=d.config, principal=g.principal,
                                ticket_id=ticket_id, assignee=body.assignee, now=d.clock()))


@bp.post("/tickets/bulk/assignee")
@requires(Action.BULK_ASSIGN)
def bulk_assign() -> Response:
    d, body = deps(), parse_model(BulkAssignIn, json_body())
    return jsonify(results=service.bulk_give(db=d.db, config=d.config, principal=g.principal,
                                             ticket_ids=body.ticket_ids,
                                             assignee=body.assignee, now=d.clock()))


def _department() -> str | None:
    value = request.args.get("department")
    if value is not None and value not in deps().config.routing.departments():
        raise validation_problem([{"field": "department", "message": "unknown department"}],
                                 status=400)
    return value


def _days() -> int:
    raw = request.args.get("days", "30")
    days = plain_int(raw, 1, 3660)
    if days is None:
        raise validation_problem([{"field": "days", "message": "an integer 1..3660"}],
                                 status=422)
    return days


@bp.get("/owners/load")
@requires(Action.VIEW_LOAD)
def load() -> Response:
    d = deps()
    return jsonify(items=service.load(db=d.db, config=d.config, principal=g.principal,
                                      department=_department()))


@bp.get("/owners/stats")
@requires(Action.VIEW_HANDLER_STATS)
def stats() -> Response:
    """Per-handler figures: supervisors only, never shown to other handlers."""
    d, days = deps(), _days()
    return jsonify(days=days, items=service.handler_stats(
        db=d.db, config=d.config, principal=g.principal, department=_department(),
        since=service.window_start(d.clock(), days)))


@bp.put("/owners/me/availability")
@requires(Action.SET_AVAILABILITY)
def availability() -> Response:
    d, body = deps(), parse_model(AvailabilityIn, json_body())
    service.set_available(db=d.db, principal=g.principal, available=body.available,
                          now=d.clock())
    return jsonify(user=g.principal.user, available=body.available)


@bp.put("/owners/round-robin/<department>")
@requires(Action.SET_ROUND_ROBIN)
def round_robin(department: str) -> Response:
    d, body = deps(), parse_model(RoundRobinIn, json_body())
    if department not in d.config.routing.departments():
        raise validation_problem([{"field": "department", "message": "unknown department"}],
                                 status=404)
    service.set_round_robin(db=d.db, principal=g.principal, department=department,
                            enabled=body.enabled, now=d.clock())
    return jsonify(department=department, enabled=body.enabled)
