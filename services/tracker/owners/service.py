"""Who owns a ticket (`assignee`). One handler of the ticket's department owns it at a time;
every change is a history entry (`owner_change: {from, to}`) written through the tickets
service's conditional update, so a concurrent take loses with a conflict instead of two
owners. A ticket re-routed to another department loses its owner (tickets.service._apply).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median
from typing import Any

from pymongo.database import Database

from services.tracker.config import TrackerConfig
from services.tracker.permissions import Action
from services.tracker.staff import Principal, Role, StaffDirectory
from services.tracker.store import OWNER_SETTINGS, PRESENCE
from services.tracker.tickets import repository
from services.tracker.tickets import service as tickets
from services.tracker.tickets.errors import Conflict, Forbidden, NotAllowed
from services.tracker.tickets.service import SYSTEM, require
from shared.errors import DomainError
from shared.tickets import OPEN_STATES, TicketState

OWNABLE_STATES = frozenset(OPEN_STATES) - {TicketState.TRIAGE, TicketState.REJECTED,
                                           TicketState.NEW}


def handlers_of(directory: StaffDirectory, department: str | None = None) -> list[Principal]:
    """The handlers in the staff directory, of one department or all, by user name."""
    found = {p.user: p for p in directory.by_digest.values() if p.role == "handler"}
    found.update({p.user: p for p, _ in directory.by_user.values() if p.role == "handler"})
    return sorted((p for p in found.values() if department is None or p.department == department),
                  key=lambda p: p.user)


def _check_owner(config: TrackerConfig, ticket: dict[str, Any], user: str) -> None:
    known = {p.user for p in handlers_of(config.staff, ticket.get("department"))}
    if user not in known:
        raise NotAllowed(f"{user!r} is not a handler of the ticket's department")


def _change(*, db: Database, config: TrackerConfig, principal: Principal,
            ticket: dict[str, Any], to: str | None, now: datetime) -> dict[str, Any]:
    if ticket["state"] not in OWNABLE_STATES:
        raise NotAllowed(f"a ticket in state {ticket['state']!r} has no owner to change")
    previous = ticket.get("assignee")
    if previous == to:
        raise NotAllowed("the ticket already has that owner")
    entry = tickets._entry(seq=ticket["seq"] + 1, at=now, by=principal,
                           from_state=ticket["state"], to_state=ticket["state"],
                           owner_change={"from": previous, "to": to})
    return tickets._apply(db=db, config=config, ticket=ticket, entries=[entry], now=now,
                          set_fields={"assignee": to})


def take(*, db: Database, config: TrackerConfig, principal: Principal, ticket_id: str,
         now: datetime) -> dict[str, Any]:
    """A handler takes an unowned ticket of the department. Taking one that someone else
    owns is a supervisor's reassignment, not a take."""
    require(principal, Action.TAKE)
    ticket = tickets.get_ticket(db=db, principal=principal, ticket_id=ticket_id)
    owner = ticket.get("assignee")
    if owner and owner != principal.user:
        raise Conflict(f"ticket {ticket['tracking_code']} is already owned by {owner}")
    return _change(db=db, config=config, principal=principal, ticket=ticket,
                   to=principal.user, now=now)


def give(*, db: Database, config: TrackerConfig, principal: Principal, ticket_id: str,
         assignee: str | None, now: datetime) -> dict[str, Any]:
    """Give the ticket to a handler of its department (None: nobody owns it). Supervisors
    reassign anything; a handler gives or releases only what it owns or nobody owns."""
    require(principal, Action.ASSIGN)
    ticket = tickets.get_ticket(db=db, principal=principal, ticket_id=ticket_id)
    if principal.role == Role.HANDLER and ticket.get("assignee") not in (None, principal.user):
        raise Forbidden("only a supervisor reassigns another handler's ticket",
                        code="reassign_for_supervisors")
    if assignee is not None:
        _check_owner(config, ticket, assignee)
    return _change(db=db, config=config, principal=principal, ticket=ticket, to=assignee,
                   now=now)


def bulk_give(*, db: Database, config: TrackerConfig, principal: Principal,
              ticket_ids: list[str], assignee: str | None, now: datetime
              ) -> list[dict[str, Any]]:
    """Give each ticket; one refused ticket does not stop the others (its status and why)."""
    require(principal, Action.BULK_ASSIGN)
    results: list[dict[str, Any]] = []
    for ticket_id in dict.fromkeys(ticket_ids):
        try:
            ticket = give(db=db, config=config, principal=principal, ticket_id=ticket_id,
                          assignee=assignee, now=now)
        except DomainError as exc:
            results.append({"ticket_id": ticket_id, "status": exc.status,
                            "error": exc.detail})
            continue
        results.append({"ticket_id": ticket_id, "status": 200, "state": ticket["state"]})
    return results


# --- availability and round-robin -----------------------------------------------------

def set_available(*, db: Database, principal: Principal, available: bool,
                  now: datetime) -> None:
    require(principal, Action.SET_AVAILABILITY)
    db[PRESENCE].update_one({"_id": principal.user},
                            {"$set": {"available": available, "at": now}}, upsert=True)


def availability(db: Database, users: list[str]) -> dict[str, bool]:
    found = {d["_id"]: bool(d.get("available"))
             for d in db[PRESENCE].find({"_id": {"$in": users}}, {"available": 1})}
    return {u: found.get(u, False) for u in users}


def set_round_robin(*, db: Database, principal: Principal, department: str, enabled: bool,
                    now: datetime) -> None:
    require(principal, Action.SET_ROUND_ROBIN)
    db[OWNER_SETTINGS].update_one({"_id": department},
                                  {"$set": {"round_robin": enabled, "at": now}}, upsert=True)


def round_robin_departments(db: Database) -> set[str]:
    return {d["_id"] for d in db[OWNER_SETTINGS].find({"round_robin": True}, {"_id": 1})}


def next_handler(*, candidates: list[str], presence: dict[str, dict[str, Any]]) -> str | None:
    """The available candidate whose last turn is oldest (never first, then by name)."""
    available = [u for u in candidates if presence.get(u, {}).get("available")]
    if not available:
        return None
    return min(available, key=lambda u: (presence.get(u, {}).get("turn", 0), u))


def auto_assign(*, db: Database, config: TrackerConfig, tickets_in: list[dict[str, Any]],
                now: datetime) -> list[tuple[str, str]]:
    """Round-robin on arrival: each new unowned ticket of a department with round-robin on
    goes to its available handler who got one longest ago. Returns (ticket id, user)."""
    departments = round_robin_departments(db)
    wanted = [t for t in tickets_in if t.get("department") in departments
              and t["state"] in OWNABLE_STATES and not t.get("assignee")]
    if not wanted:
        return []
    users = sorted({p.user for d in {t["department"] for t in wanted}
                    for p in handlers_of(config.staff, d)})
    presence = {d["_id"]: d for d in db[PRESENCE].find({"_id": {"$in": users}})}
    done = []
    for ticket in wanted:
        candidates = [p.user for p in handlers_of(config.staff, ticket["department"])]
        user = next_handler(candidates=candidates, presence=presence)
        if user is None:
            continue
        try:
            _change(db=db, config=config, principal=SYSTEM, ticket=ticket, to=user, now=now)
        except (Conflict, NotAllowed):
            continue  # somebody took or moved it meanwhile
        turn = 1 + max(presence.get(u, {}).get("turn", 0) for u in candidates)
        presence.setdefault(user, {})["turn"] = turn
        db[PRESENCE].update_one({"_id": user}, {"$set": {"turn": turn,
                                                         "last_assigned_at": now}},
                                upsert=True)
        done.append((ticket["_id"], user))
    return done


# --- the supervisor's view ---------------------------------------------------------------

def load(*, db: Database, config: TrackerConfig, principal: Principal,
         department: str | None) -> list[dict[str, Any]]:
    """Per handler (and 'unassigned' per department): open tickets held and the earliest
    resolution deadline among them."""
    require(principal, Action.VIEW_LOAD)
    rows: dict[tuple[str, str | None], dict[str, Any]] = {}
    handlers = handlers_of(config.staff, department)
    present = availability(db, [p.user for p in handlers])
    for p in handlers:
        rows[(p.department or "", p.user)] = {"department": p.department, "user": p.user,
                                              "open": 0, "oldest_due": None,
                                              "available": present[p.user]}
    for t in repository.open_owned(db, department=department):
        key = (t.get("department") or "", t.get("assignee"))
        row = rows.setdefault(key, {"department": t.get("department"),
                                    "user": t.get("assignee"), "open": 0,
                                    "oldest_due": None, "available": None})
        row["open"] += 1
        due = t.get("expected_resolution_at")
        if due is not None and (row["oldest_due"] is None or due < row["oldest_due"]):
            row["oldest_due"] = due
    return sorted(rows.values(), key=lambda r: (r["department"] or "", r["user"] is None,
                                                r["user"] or ""))


def handler_stats(*, db: Database, config: TrackerConfig, principal: Principal,
                  department: str | None, since: datetime) -> list[dict[str, Any]]:
    """Per handler: tickets they owned that were resolved in the window (resolved or
    closed), how many of those on time, and the median time from filing to resolution."""
    require(principal, Action.VIEW_HANDLER_STATS)
    per: dict[str, dict[str, Any]] = {
        p.user: {"user": p.user, "department": p.department, "durations": [], "on_time": 0}
        for p in handlers_of(config.staff, department)}
    for t in repository.resolved_since(db, department=department, since=since):
        user = t.get("assignee")
        if not user:
            continue
        row = per.setdefault(user, {"user": user, "department": t.get("department"),
                                    "durations": [], "on_time": 0})
        row["durations"].append((t["finished_at"] - t["started_at"]).total_seconds())
        row["on_time"] += 1 if t.get("finished_on_time") else 0
    out = []
    for row in sorted(per.values(), key=lambda r: (r["department"] or "", r["user"])):
        n = len(row["durations"])
        out.append({"user": row["user"], "department": row["department"], "resolved": n,
                    "on_time": row["on_time"],
                    "on_time_rate": row["on_time"] / n if n else None,
                    "median_hours": round(median(row["durations"]) / 3600, 2) if n else None})
    return out


def window_start(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)
