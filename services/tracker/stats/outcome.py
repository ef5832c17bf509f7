"""When a ticket finished and whether on time: the one definition the figures count (the
reference count in `service.py` and the counters), duplicates through their originals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.tickets import TicketState


def outcome(ticket: dict[str, Any], tickets: dict[str, dict[str, Any]]
            ) -> tuple[datetime, bool] | None:
    """(finished_at, on_time) of a finished ticket, None while it is not finished. A duplicate
    goes through its original (and the original's, if that was marked a duplicate too)."""
    finished_at, on_time = ticket.get("finished_at"), ticket.get("finished_on_time")
    seen = {ticket["_id"]}
    while finished_at is not None and ticket["state"] == TicketState.DUPLICATE:
        original = tickets.get(ticket.get("duplicate_of"))
        if original is None or original["_id"] in seen or original.get("finished_at") is None:
            return None
        seen.add(original["_id"])
        finished_at = max(finished_at, original["finished_at"])
        on_time = bool(on_time) and bool(original.get("finished_on_time"))
        ticket = original
    return None if finished_at is None else (finished_at, bool(on_time))
