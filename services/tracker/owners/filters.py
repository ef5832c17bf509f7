"""The queue's owner filter from a query string value: `me`, `none` or a user name."""

from __future__ import annotations

from typing import Any

from services.tracker.staff import Principal
from shared.web.problems import validation_problem


def assignee_filter(value: str | None, principal: Principal) -> dict[str, Any]:
    """The `TicketFilter` fields (assignee, unowned) the value asks for."""
    if value is None or value == "":
        return {}
    if value == "me":
        return {"assignee": principal.user}
    if value == "none":
        return {"unowned": True}
    if len(value) > 64 or not all(c.isalnum() or c in "._@-" for c in value):
        raise validation_problem([{"field": "assignee", "message": "me, none or a user name"}],
                                 status=400)
    return {"assignee": value}
