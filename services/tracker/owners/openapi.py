"""The owners API in the tracker's OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.tracker.owners.models import (
    AssignIn,
    AvailabilityIn,
    AvailabilityOut,
    BulkAssignIn,
    HandlerStatsOut,
    LoadOut,
    RoundRobinIn,
    RoundRobinOut,
)
from services.tracker.tickets.models import BulkOut, TicketDetailOut
from shared.web.openapi import Operation

TICKET = {"name": "ticket_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _q(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def operations(op: Callable[..., Operation]) -> list[Operation]:
    days = _q("days", {"type": "integer", "minimum": 1, "maximum": 3660})
    dept = _q("department", {"type": "string"})
    dept_path = {"name": "department", "in": "path", "required": True,
                 "schema": {"type": "string"}}
    return [
        op("/api/v1/tickets/{ticket_id}/take", "post", "A handler takes an unowned ticket",
           TicketDetailOut, params=(TICKET,), tag="owners"),
        op("/api/v1/tickets/{ticket_id}/assignee", "post", "Give the ticket to a handler "
           "(null: nobody)", TicketDetailOut, body=AssignIn, params=(TICKET,), tag="owners"),
        op("/api/v1/tickets/bulk/assignee", "post", "Reassign several tickets", BulkOut,
           body=BulkAssignIn, tag="owners"),
        op("/api/v1/owners/load", "get", "Open tickets and oldest deadline per handler",
           LoadOut, params=(dept,), tag="owners"),
        op("/api/v1/owners/stats", "get", "Per-handler figures (supervisors only)",
           HandlerStatsOut, params=(dept, days), tag="owners"),
        op("/api/v1/owners/me/availability", "put", "Available for round-robin",
           AvailabilityOut, body=AvailabilityIn, tag="owners"),
        op("/api/v1/owners/round-robin/{department}", "put",
           "Round-robin on arrival for a department", RoundRobinOut, body=RoundRobinIn,
           params=(dept_path,), tag="owners"),
    ]
