"""What the live pages are told, and who is told what. Pure functions, no I/O.

The store's change stream (hub.py) becomes `LiveEvent`s: a ticket changed (which ticket, what
kind of change), someone's notifications changed, a ticket's viewers changed. An event names
no person of the public and carries no text of a report: a page that hears of a change reads
it again through its ordinary, authorised request. `delivers` is the one rule deciding which
open page hears which event: a handler hears of their department's tickets (and of the
tickets their page showed them, until one leaves the department), the roles that see every
ticket hear of all, and each person hears only of their own notifications.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from services.tracker.staff import Principal, Role
from services.tracker.store import NOTIFICATIONS, TICKETS, VIEWERS

Kind = Literal["ticket", "notifications", "viewers", "resync"]
View = Literal["page", "queue", "ticket", "dashboard"]
VIEWS: tuple[str, ...] = ("page", "queue", "ticket", "dashboard")
# a ticket field changed -> what the page is told changed; other fields (the figures' hash,
# search bookkeeping) change nothing a page shows
TICKET_FIELDS: dict[str, str] = {"state": "state", "assignee": "owner",
                                 "department": "department", "sla": "sla",
                                 "breach_at": "sla", "seq": "history"}
WATCH_LIMIT = 60  # a queue page shows 50 tickets
DASHBOARD_CHANGES = frozenset({"new", "state", "sla", "changed"})


@dataclass(frozen=True)
class LiveEvent:
    kind: Kind
    ticket_id: str | None = None
    department: str | None = None  # the ticket's department after the change
    user: str | None = None        # whose notifications changed
    what: tuple[str, ...] = ()

    def data(self) -> dict[str, Any]:
        """What the browser receives: ids and kinds of change only."""
        if self.kind == "ticket":
            return {"ticket": self.ticket_id, "what": list(self.what)}
        if self.kind == "viewers":
            return {"ticket": self.ticket_id}
        return {}


RESYNC = LiveEvent("resync")


def _changed(fields: Mapping[str, Any]) -> tuple[str, ...]:
    found = {TICKET_FIELDS[key.split(".", 1)[0]] for key in fields
             if key.split(".", 1)[0] in TICKET_FIELDS}
    return tuple(sorted(found))


def from_change(change: Mapping[str, Any]) -> LiveEvent | None:
    """One change-stream document (insert, update, replace, delete) as a LiveEvent, or None
    when nothing a page shows changed."""
    collection = (change.get("ns") or {}).get("coll")
    operation = change.get("operationType")
    key = (change.get("documentKey") or {}).get("_id")
    doc = change.get("fullDocument") or {}
    if collection == TICKETS:
        if operation == "insert":
            what: tuple[str, ...] = ("new",)
        elif operation == "update":
            what = _changed((change.get("updateDescription") or {}).get("updatedFields") or {})
            if not what:
                return None
        elif operation in {"replace", "delete"}:
            what = ("changed",)
        else:
            return None
        return LiveEvent("ticket", ticket_id=str(key), department=doc.get("department"),
                         what=what)
    if collection == NOTIFICATIONS and operation in {"insert", "update", "replace"}:
        return LiveEvent("notifications", user=doc.get("user")) if doc.get("user") else None
    if collection == VIEWERS and operation in {"insert", "delete", "replace", "update"}:
        if operation == "update":  # a heartbeat moves only the expiry: nobody came or went
            fields = (change.get("updateDescription") or {}).get("updatedFields") or {}
            if set(fields) <= {"expires_at", "seen_at"}:
                return None
        ticket_id = doc.get("ticket_id") or (str(key).partition(":")[0] if key else None)
        return LiveEvent("viewers", ticket_id=ticket_id) if ticket_id else None
    return None


@dataclass
class Subscription:
    """One open page. `watch`: ticket ids the page shows, checked visible when it opened."""

    principal: Principal
    view: View = "page"
    watch: set[str] = field(default_factory=set)

    @property
    def hears_all_tickets(self) -> bool:
        return self.view in {"queue", "dashboard"}


def delivers(sub: Subscription, event: LiveEvent) -> bool:
    """Whether the page hears the event. A watched ticket that left a handler's department
    is told once (so the page drops it), then forgotten: nothing more about it reaches them."""
    principal = sub.principal
    if event.kind == "resync":
        return True
    if event.kind == "notifications":
        return event.user is not None and event.user == principal.user
    if event.kind == "viewers":
        return sub.view == "ticket" and event.ticket_id in sub.watch
    if event.kind != "ticket":
        return False
    ours = _may_see(principal, event.department)
    if event.ticket_id in sub.watch:
        if not ours:
            sub.watch.discard(event.ticket_id)  # told once that it left
        return True
    if sub.view == "ticket" or not sub.hears_all_tickets:
        return False
    if sub.view == "dashboard":  # the breach list moves with states and SLA levels only
        return ours and bool(DASHBOARD_CHANGES & set(event.what))
    return ours


def _may_see(principal: Principal, department: str | None) -> bool:
    """The ticket's visibility rule (tickets.repository.visible_filter), on an event."""
    if principal.role == Role.HANDLER:
        return department is not None and department == principal.department
    return principal.sees_all()
