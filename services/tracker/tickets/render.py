"""Ticket documents rendered as the API and the pages show them to staff (never personal
data: the tracker has none; the reporter's contacts stay encrypted in intake)."""

from __future__ import annotations

from typing import Any


def ticket_out(ticket: dict[str, Any], *, history: bool = False) -> dict[str, Any]:
    sla = ticket.get("sla", {})
    rating = ticket.get("rating") or {}
    out: dict[str, Any] = {
        "id": ticket["_id"], "tracking_code": ticket["tracking_code"],
        "state": ticket["state"], "category": ticket["category"],
        "district": ticket.get("district"), "department": ticket.get("department"),
        "urgent": bool(ticket.get("urgent")), "channel": ticket["channel"],
        "description": ticket["description"], "address": ticket.get("address"),
        "confidence": ticket.get("confidence", 0.0), "created_at": ticket["created_at"],
        "started_at": ticket["started_at"], "updated_at": ticket["updated_at"],
        "sla_state": sla.get("state", "on_track"),
        "expected_resolution_at": ticket.get("expected_resolution_at"),
        "clocks": sla.get("clocks", {}),
        "duplicate_of": ticket.get("duplicate_of_code"),
        "duplicate_candidates": ticket.get("duplicate_candidates", []),
        "rating": rating.get("score"),
        "finished_at": ticket.get("finished_at"),
        "finished_on_time": ticket.get("finished_on_time"),
        "triage_reason": ticket.get("triage_reason"),
        "assignee": ticket.get("assignee"),
    }
    if history:
        out["history"] = [
            {"seq": h["seq"], "at": h["at"], "by": h["by"], "role": h["role"],
             "from_state": h["from"], "to_state": h["to"], "note": h.get("note"),
             "public": h.get("public", False), "department": h.get("department"),
             "exception": h.get("exception"), "citizen": h.get("citizen", False),
             "photos": h.get("photos") or [], "owner_change": h.get("owner_change")}
            for h in ticket["history"]]
    return out


def breach_row(ticket: dict[str, Any]) -> dict[str, Any]:
    """What a breach list's row shows (`repository.BREACH_ROW_FIELDS`)."""
    return {"id": ticket["_id"], "tracking_code": ticket["tracking_code"],
            "department": ticket.get("department"), "category": ticket["category"],
            "state": ticket["state"], "breach_at": ticket["breach_at"],
            "expected_resolution_at": ticket.get("expected_resolution_at")}
