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
from services.tracker.tickets import service as tickets
from services.tracker.tickets.api import _problem, _run
from services.tracker.tickets.states import IllegalTransition
from shared.web.body import json_body, parse_model
from shared.web.problems import validation_problem

bp = Blueprint("owners", __name__, url_prefix="/api/v1")
SUPERVISORS = ("supervisor", "admin")
ERRORS = (tickets.TicketNotFound, IllegalTransition, tickets.Conflict, tickets.Forbidden,
          tickets.NotAllowed)


@bp.post("/tickets/<ticket_id>/take")
@requires("handler")
def take(ticket_id: str) -> Response:
    d = deps()
    return _run(lambda: service.take(db=d.db, config=d.config, principal=g.principal,
                                     ticket_id=ticket_id, now=d.clock()))


@bp.post("/tickets/<ticket_id>/assignee")
@requires("handler", *SUPERVISORS)
def assign(ticket_id: str) -> Response:
    d, body = deps(), parse_model(AssignIn, json_body())
    return _run(lambda: service.give(db=d.db, config=d.config, principal=g.principal,
                                     ticket_id=ticket_id, assignee=body.assignee,
                                     now=d.clock()))


@bp.post("/tickets/bulk/assignee")
@requires(*SUPERVISORS)
def bulk_assign() -> Response:
    d, body = deps(), parse_model(BulkAssignIn, json_body())
    return jsonify(results=bulk(d, g.principal, body.ticket_ids, body.assignee))


def bulk(d: Any, principal: Any, ticket_ids: list[str], assignee: str | None
         ) -> list[dict[str, Any]]:
    results = []
    for ticket_id in dict.fromkeys(ticket_ids):
        try:
            ticket = service.give(db=d.db, config=d.config, principal=principal,
                                  ticket_id=ticket_id, assignee=assignee, now=d.clock())
        except ERRORS as exc:
            problem = _problem(exc)
            results.append({"ticket_id": ticket_id, "status": problem.status,
                            "error": problem.detail})
            continue
        results.append({"ticket_id": ticket_id, "status": 200, "state": ticket["state"]})
    return results


def _department() -> str | None:
    value = request.args.get("department")
    if value is not None and value not in deps().config.routing.departments():
        raise validation_problem([{"field": "department", "message": "unknown department"}],
                                 status=400)
    return value


def _days() -> int:
    raw = request.args.get("days", "30")
    if not raw.isdigit() or not 1 <= int(raw) <= 3660:
        raise validation_problem([{"field": "days", "message": "an integer 1..3660"}],
                                 status=422)
    return int(raw)


@bp.get("/owners/load")
@requires(*SUPERVISORS)
def load() -> Response:
    d = deps()
    return jsonify(items=service.load(db=d.db, config=d.config, department=_department()))


@bp.get("/owners/stats")
@requires(*SUPERVISORS)
def stats() -> Response:
    """Per-handler figures: supervisors only, never shown to other handlers."""
    d, days = deps(), _days()
    return jsonify(days=days, items=service.handler_stats(
        db=d.db, config=d.config, department=_department(),
        since=service.window_start(d.clock(), days)))


@bp.put("/owners/me/availability")
@requires("handler")
def availability() -> Response:
    d, body = deps(), parse_model(AvailabilityIn, json_body())
    service.set_available(db=d.db, user=g.principal.user, available=body.available,
                          now=d.clock())
    return jsonify(user=g.principal.user, available=body.available)


@bp.put("/owners/round-robin/<department>")
@requires(*SUPERVISORS)
def round_robin(department: str) -> Response:
    d, body = deps(), parse_model(RoundRobinIn, json_body())
    if department not in d.config.routing.departments():
        raise validation_problem([{"field": "department", "message": "unknown department"}],
                                 status=404)
    service.set_round_robin(db=d.db, department=department, enabled=body.enabled,
                            now=d.clock())
    return jsonify(department=department, enabled=body.enabled)
