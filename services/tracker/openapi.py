"""The tracker's OpenAPI document, generated from the request and response models."""

from __future__ import annotations

from typing import Any

from services.tracker.alerts.api import operations as alert_operations
from services.tracker.answers.openapi import operations as answer_operations
from services.tracker.owners.openapi import operations as owner_operations
from services.tracker.permissions import Action, roles_for
from services.tracker.tickets.models import (
    MAX_LIMIT,
    MAX_OFFSET,
    BulkOut,
    BulkTransitionIn,
    CitizenReplyIn,
    CitizenTicketOut,
    DuplicateIn,
    MeOut,
    NoteIn,
    QueueOut,
    RatingIn,
    ReopenIn,
    RerouteIn,
    TicketDetailOut,
    TransitionIn,
    TriageIn,
)
from shared.taxonomy import CATEGORY_CODES, DISTRICT_CODES
from shared.tickets import SLA_STATES, STATES
from shared.web.openapi import Operation, build_document

AUTH = {"name": "Authorization", "in": "header", "required": True,
        "description": "Bearer token of a staff member (or of intake, for citizen actions)",
        "schema": {"type": "string"}}
TICKET = {"name": "ticket_id", "in": "path", "required": True, "schema": {"type": "string"}}
CODE = {"name": "tracking_code", "in": "path", "required": True, "schema": {"type": "string"}}
ERRORS = {400: None, 401: None, 403: None, 404: None, 409: None, 413: None, 415: None,
          422: None}


def _q(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


PAGING = [_q("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
          _q("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET})]
STATS = {"type": "object"}
CSV = {"type": "string"}


# Each operation's row of the permission table: the roles it lets through are listed in the
# operation's description and in `x-roles`.
ACTIONS: dict[tuple[str, str], Action] = {
    ("/api/v1/me", "get"): Action.WHO_AM_I,
    ("/api/v1/tickets", "get"): Action.VIEW_TICKETS,
    ("/api/v1/triage", "get"): Action.TRIAGE,
    ("/api/v1/tickets/{ticket_id}", "get"): Action.VIEW_TICKETS,
    ("/api/v1/tickets/{ticket_id}/transitions", "post"): Action.TRANSITION,
    ("/api/v1/tickets/bulk/transitions", "post"): Action.BULK_TRANSITION,
    ("/api/v1/tickets/{ticket_id}/notes", "post"): Action.ADD_NOTE,
    ("/api/v1/tickets/{ticket_id}/reroute", "post"): Action.REROUTE,
    ("/api/v1/tickets/{ticket_id}/triage", "post"): Action.TRIAGE,
    ("/api/v1/tickets/{ticket_id}/duplicate", "post"): Action.MARK_DUPLICATE,
    ("/api/v1/citizen/{tracking_code}/rating", "post"): Action.CITIZEN_RATE,
    ("/api/v1/citizen/{tracking_code}/reopen", "post"): Action.CITIZEN_REOPEN,
    ("/api/v1/citizen/{tracking_code}/reply", "post"): Action.CITIZEN_REPLY,
    ("/api/v1/stats/departments", "get"): Action.VIEW_STATS,
    ("/api/v1/stats/departments.csv", "get"): Action.VIEW_STATS,
    ("/api/v1/breaches", "get"): Action.VIEW_STATS,
    # the staff helpdesk (issue 20)
    ("/api/v1/tickets/{ticket_id}/take", "post"): Action.TAKE,
    ("/api/v1/tickets/{ticket_id}/assignee", "post"): Action.ASSIGN,
    ("/api/v1/tickets/bulk/assignee", "post"): Action.BULK_ASSIGN,
    ("/api/v1/owners/load", "get"): Action.VIEW_LOAD,
    ("/api/v1/owners/stats", "get"): Action.VIEW_HANDLER_STATS,
    ("/api/v1/owners/me/availability", "put"): Action.SET_AVAILABILITY,
    ("/api/v1/owners/round-robin/{department}", "put"): Action.SET_ROUND_ROBIN,
    ("/api/v1/answer-templates", "get"): Action.VIEW_TEMPLATES,
    ("/api/v1/answer-templates", "post"): Action.MANAGE_TEMPLATES,
    ("/api/v1/answer-templates/{template_id}", "put"): Action.MANAGE_TEMPLATES,
    ("/api/v1/tickets/{ticket_id}/answer-templates/{template_id}", "get"):
        Action.VIEW_TEMPLATES,
    ("/api/v1/notifications", "get"): Action.VIEW_NOTIFICATIONS,
    ("/api/v1/notifications/{notification_id}/read", "post"): Action.VIEW_NOTIFICATIONS,
    ("/api/v1/notifications/read-all", "post"): Action.VIEW_NOTIFICATIONS,
    ("/api/v1/notifications/preferences", "get"): Action.VIEW_NOTIFICATIONS,
    ("/api/v1/notifications/preferences", "put"): Action.VIEW_NOTIFICATIONS,
}


def _op(path: str, method: str, summary: str, ok: Any, *, body: Any = None,
        params: tuple[dict[str, Any], ...] = (), tag: str = "tickets", **kw: Any) -> Operation:
    roles = roles_for(ACTIONS[(path, method)])
    return Operation(path, method, summary, {200: ok, **ERRORS}, body=body,
                     parameters=[AUTH, *params], tags=(tag,),
                     description=f"Roles: {', '.join(roles)}.",
                     extensions={"x-roles": sorted(roles)}, **kw)


def operations() -> list[Operation]:
    return [
        _op("/api/v1/me", "get", "Who the token belongs to", MeOut, tag="staff"),
        _op("/api/v1/tickets", "get", "Queue ordered by nearest deadline", QueueOut,
            params=(_q("state", {"type": "string", "enum": list(STATES)}),
                    _q("category", {"type": "string", "enum": list(CATEGORY_CODES)}),
                    _q("district", {"type": "string", "enum": list(DISTRICT_CODES)}),
                    _q("department", {"type": "string"}),
                    _q("urgent", {"type": "string", "enum": ["true", "false"]}),
                    _q("q", {"type": "string", "maxLength": 200,
                             "description": "search: a tracking code, words (with or "
                                            "without diacritics, street names) or, for "
                                            "operators, a caller's phone number"}),
                    _q("assignee", {"type": "string",
                                    "description": "me, none (nobody owns it) or a user"}),
                    _q("sla_state", {"type": "string", "enum": list(SLA_STATES)}),
                    *PAGING)),
        _op("/api/v1/triage", "get", "Tickets waiting for an operator's category", QueueOut,
            params=tuple(PAGING)),
        _op("/api/v1/tickets/{ticket_id}", "get", "Ticket with its history", TicketDetailOut,
            params=(TICKET,)),
        _op("/api/v1/tickets/{ticket_id}/transitions", "post", "Move the ticket",
            TicketDetailOut, body=TransitionIn, params=(TICKET,)),
        _op("/api/v1/tickets/bulk/transitions", "post", "Move several tickets", BulkOut,
            body=BulkTransitionIn),
        _op("/api/v1/tickets/{ticket_id}/notes", "post", "Add a public or internal note",
            TicketDetailOut, body=NoteIn, params=(TICKET,)),
        _op("/api/v1/tickets/{ticket_id}/reroute", "post",
            "Not ours: send to another department (and category)", TicketDetailOut,
            body=RerouteIn, params=(TICKET,)),
        _op("/api/v1/tickets/{ticket_id}/triage", "post", "Operator picks the category",
            TicketDetailOut, body=TriageIn, params=(TICKET,)),
        _op("/api/v1/tickets/{ticket_id}/duplicate", "post", "Link to the original report",
            TicketDetailOut, body=DuplicateIn, params=(TICKET,)),
        _op("/api/v1/citizen/{tracking_code}/rating", "post", "Citizen's rating (via intake)",
            CitizenTicketOut, body=RatingIn, params=(CODE,), tag="citizen"),
        _op("/api/v1/citizen/{tracking_code}/reopen", "post", "Citizen reopens (via intake)",
            CitizenTicketOut, body=ReopenIn, params=(CODE,), tag="citizen"),
        _op("/api/v1/citizen/{tracking_code}/reply", "post",
            "Citizen answers a waiting ticket (via intake)", CitizenTicketOut,
            body=CitizenReplyIn, params=(CODE,), tag="citizen"),
        _op("/api/v1/stats/departments", "get", "Figures per department", STATS,
            params=(_q("days", {"type": "integer", "minimum": 1, "maximum": 3660}),),
            tag="supervisors"),
        _op("/api/v1/stats/departments.csv", "get", "The same as CSV", CSV,
            params=(_q("days", {"type": "integer", "minimum": 1, "maximum": 3660}),),
            tag="supervisors", response_media="text/csv"),
        _op("/api/v1/breaches", "get", "Open tickets past a deadline", QueueOut,
            params=(_q("department", {"type": "string"}),), tag="supervisors"),
        *owner_operations(_op),
        *answer_operations(_op),
        *alert_operations(_op),
    ]


def document() -> dict[str, Any]:
    return build_document(
        title="1022 tracker", version="1",
        description="Tickets, routing, SLA clocks and breach alerts for department handlers, "
                    "operators and supervisors.",
        operations=operations())
