"""The tickets service's refusals. Each carries a code (the pages' message key is
`err.<code>`) and the HTTP status the API answers with."""

from __future__ import annotations

from shared.errors import DomainError


class TicketNotFound(DomainError):
    status, title, default_code = 404, "Not Found", "ticket_not_found"

    def __init__(self, ticket: str) -> None:
        super().__init__("No such ticket, or not one you may see.")
        self.ticket = ticket


class Forbidden(DomainError):
    status, title, default_code = 403, "Forbidden", "forbidden"


class Conflict(DomainError):
    """Someone changed the ticket since it was read."""

    status, title, default_code = 409, "Conflict", "edit_conflict"


class IllegalTransition(DomainError):
    status, title, default_code = 409, "Illegal transition", "illegal_transition"

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"a ticket in state {str(current)!r} cannot move to {str(target)!r}",
                         field="to", current=current, target=target)
        self.current = current
        self.target = target


class NotAllowed(DomainError):
    """The move exists but the request does not meet its conditions (e.g. too late)."""

    status, title, default_code = 422, "Not allowed", "not_allowed"

    def __init__(self, detail: str, *, code: str | None = None, field: str = "body",
                 **params: object) -> None:
        super().__init__(detail, code=code, field=field, **params)
