"""Tickets: creation from classified reports, moves through the state machine, notes,
re-routing, duplicates and the citizen's rating and reopen.

Every change is one conditional update of the ticket document: it appends to `history`
(append-only, the audit trail), bumps `seq` and recomputes the SLA fields; the publisher
turns the appended entries into status events from the collection's change stream. A
concurrent change makes the condition fail and the caller gets a conflict instead of a lost
update.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from services.tracker.config import TrackerConfig
from services.tracker.duplicates import band_keys, shingles, suggest_many
from services.tracker.permissions import Action, allowed, roles_for
from services.tracker.sla.clocks import FIRST_RESPONSE
from services.tracker.sla.summary import sla_fields
from services.tracker.staff import Principal, Role
from services.tracker.tickets import repository
from services.tracker.tickets.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotAllowed,
    TicketNotFound,
)
from services.tracker.tickets.states import check_transition, role_may_move_to
from shared.errors import DomainError
from shared.events import ReportClassified
from shared.redact import redact_contacts
from shared.tickets import RESPONDED_STATES, TicketState
from shared.web.i18n import has_key, translate

log = logging.getLogger(__name__)
__all__ = ["Conflict", "Forbidden", "IllegalTransition", "NotAllowed", "TicketNotFound"]
SYSTEM = Principal(user="system", role=Role.ADMIN)


def require(principal: Principal, action: Action) -> None:
    """The permission table's verdict, enforced here so that every caller gets it."""
    if not allowed(principal.role, action):
        raise Forbidden(f"{action} is for the roles: {', '.join(roles_for(action))}",
                        action=str(action))


def _entry(*, seq: int, at: datetime, by: Principal, from_state: str | None, to_state: str,
           note: str | None = None, public: bool = False, **extra: Any) -> dict[str, Any]:
    entry = {"seq": seq, "at": at, "by": by.user, "role": by.role, "from": from_state,
             "to": to_state, "note": redact_contacts(note) if public and note else note,
             "public": bool(public and note)}
    entry.update({k: v for k, v in extra.items() if v is not None})
    return entry


# Notes written into the history are stored text: in the city's language.
NOTES_LANGUAGE = "vi"


def triage_note(reason: str | None) -> str:
    """Why the ticket waits in triage, as the history's note."""
    key = f"triage_note.{reason or 'low_confidence'}"
    return translate(key if has_key(key) else "triage_note.low_confidence", NOTES_LANGUAGE)


def new_ticket(*, config: TrackerConfig, event: ReportClassified,
               now: datetime) -> dict[str, Any]:
    """A call-center operator confirms or corrects the category while on the phone (sent as
    the report's category hint): that choice wins over the classifier, and a correction is a
    labelled example for it."""
    category, needs_triage, correction = event.category, event.needs_triage, None
    if event.channel == "call_center" and event.category_hint:
        category, needs_triage = event.category_hint, False
        if category != event.category:
            correction = {"old": event.category, "new": category}
    department = None if needs_triage else config.routing.department(category, event.district)
    target = "triage" if department is None else "assigned"
    history = [
        _entry(seq=1, at=now, by=SYSTEM, from_state=None, to_state="new"),
        _entry(seq=2, at=now, by=SYSTEM, from_state="new", to_state=target,
               department=department, correction=correction,
               note=None if department else triage_note(event.triage_reason)),
    ]
    ticket: dict[str, Any] = {
        "_id": event.report_id, "report_id": event.report_id,
        "tracking_code": event.tracking_code, "channel": event.channel,
        "description": event.description, "address": event.address,
        "location": event.location.model_dump() if event.location else None,
        "district": event.district, "category": category,
        "classified_category": event.category, "confidence": event.confidence,
        "top3": [list(pair) for pair in event.top3], "urgent": event.urgent,
        "model_version": event.model_version, "department": department, "state": target,
        "triage_reason": None if department else (event.triage_reason or "low_confidence"),
        "danger": list(event.danger),
        "started_at": event.submitted_at, "created_at": now, "updated_at": now,
        "history": history, "seq": 2,
        "alerted": [], "duplicate_of": None, "rating": None,
        "has_duplicates": False,  # set for good when a ticket is marked its duplicate
        "dup_keys": band_keys(shingles(event.description)),
        "contact_index": list(event.contact_index),  # the phones' blind index (search)
    }
    ticket.update(sla_fields(ticket, config=config, now=now))
    return ticket


def create_many(*, db: Database, config: TrackerConfig, events: list[ReportClassified],
                now: datetime) -> list[tuple[dict[str, Any], bool]]:
    """Create the tickets of a batch of classified reports in one write. A replayed event (its
    report already has a ticket, the ids are the same) creates nothing: it comes back with
    created=False and the stored ticket."""
    unique = list({e.report_id: e for e in events}.values())
    tickets = [new_ticket(config=config, event=e, now=now) for e in unique]
    suggest_many(db=db, tickets=tickets, now=now,
                 window=timedelta(days=config.duplicate_window_days),
                 threshold=config.duplicate_similarity)
    replayed = repository.insert_many_new(db, tickets, tz=config.business.tz)
    results = []
    for i, ticket in enumerate(tickets):
        if i in replayed:
            stored = repository.get(db, ticket["_id"])
            if stored is None:
                # not a replay: another report already holds this tracking code
                log.error("report %s not ticketed: tracking code %s belongs to another report",
                          ticket["_id"], ticket["tracking_code"])
            ticket = stored or ticket
        results.append((ticket, i not in replayed))
    return results


def get_ticket(*, db: Database, principal: Principal, ticket_id: str) -> dict[str, Any]:
    """A ticket the principal may see. Another department's ticket is 'not found'."""
    require(principal, Action.VIEW_TICKETS)
    ticket = repository.get_visible(db, principal, ticket_id)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return ticket


def _changed(*, config: TrackerConfig, ticket: dict[str, Any], entries: list[dict[str, Any]],
             now: datetime, set_fields: dict[str, Any] | None = None
             ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ticket after the entries, and the fields that change (unwritten)."""
    updated = dict(ticket)
    updated.update(set_fields or {})
    if updated.get("department") != ticket.get("department"):
        updated["assignee"] = None  # the owner was a handler of the department it left
    updated["history"] = [*ticket["history"], *entries]
    updated["state"] = entries[-1]["to"]
    updated["seq"] = entries[-1]["seq"]
    updated["updated_at"] = now
    for entry in entries:
        if entry["to"] in RESPONDED_STATES and not updated.get("first_response_at"):
            updated["first_response_at"] = entry["at"]
    updated.update(sla_fields(updated, config=config, now=now))
    if len(updated["first_responses"]) > len(ticket.get("first_responses") or [None]):
        # a department received it: its own first-response clock raises its own alerts
        updated["alerted"] = [a for a in ticket.get("alerted", [])
                              if not a.startswith(f"{FIRST_RESPONSE}:")]
        updated.update(sla_fields(updated, config=config, now=now))
    changes = {k: v for k, v in updated.items() if k not in {"_id", "history"}
               and ticket.get(k, _MISSING) != v}
    return updated, changes


def _conflict(ticket: dict[str, Any]) -> Conflict:
    return Conflict(f"ticket {ticket['tracking_code']} changed meanwhile; reload it",
                    field="form")


def _apply(*, db: Database, config: TrackerConfig, ticket: dict[str, Any],
           entries: list[dict[str, Any]], now: datetime,
           set_fields: dict[str, Any] | None = None,
           original_id: str | None = None) -> dict[str, Any]:
    """Append entries and write the ticket if nobody changed it meanwhile."""
    updated, changes = _changed(config=config, ticket=ticket, entries=entries, now=now,
                                set_fields=set_fields)
    # the supervisor's counters (and a duplicate's original) move in the same transaction
    if not repository.update_if_unchanged(db, ticket=ticket, updated=updated, changes=changes,
                                          entries=entries, tz=config.business.tz,
                                          original_id=original_id):
        raise _conflict(ticket)
    return updated


_MISSING = object()


def transition(*, db: Database, config: TrackerConfig, principal: Principal, ticket_id: str,
               to_state: str, note: str | None, public: bool, now: datetime,
               ticket: dict[str, Any] | None = None) -> dict[str, Any]:
    require(principal, Action.TRANSITION)
    ticket = ticket or get_ticket(db=db, principal=principal, ticket_id=ticket_id)
    if ticket["state"] == "duplicate" and to_state == undo_target(ticket):
        return undo_duplicate(db=db, config=config, principal=principal, ticket_id=ticket_id,
                              reason=note or "", now=now, ticket=ticket)
    entries, set_fields = _move(config=config, principal=principal, ticket=ticket,
                                to_state=to_state, note=note, public=public, now=now)
    return _apply(db=db, config=config, ticket=ticket, entries=entries, now=now,
                  set_fields=set_fields)


def _move(*, config: TrackerConfig, principal: Principal, ticket: dict[str, Any],
          to_state: str, note: str | None, public: bool, now: datetime
          ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The history entry (and other fields) of a move, after every check of the rules."""
    check_transition(ticket["state"], to_state)
    if not role_may_move_to(principal.role, to_state):
        raise Forbidden(f"role {principal.role} may not move a ticket to {to_state}")
    if to_state == "duplicate":
        raise NotAllowed("mark duplicates with the duplicate action, naming the original",
                         code="use_duplicate_action", field="to")
    if to_state == "assigned" and not ticket.get("department"):
        raise NotAllowed("triage the ticket with a category to assign it",
                         code="triage_first", field="to")
    exception, set_fields = None, None
    if to_state == "reopened":
        exception = _reopen_exception(config=config, principal=principal, ticket=ticket,
                                      reason=note, now=now)
        set_fields = {"rating": None, "reopen_count": ticket.get("reopen_count", 0) + 1}
    entry = _entry(seq=ticket["seq"] + 1, at=now, by=principal, from_state=ticket["state"],
                   to_state=to_state, note=note, public=public, exception=exception)
    return [entry], set_fields


def bulk_transition(*, db: Database, config: TrackerConfig, principal: Principal,
                    ticket_ids: list[str], to_state: str, note: str | None, public: bool,
                    now: datetime) -> list[tuple[str, dict[str, Any] | DomainError]]:
    """Move several tickets: every move is checked as `transition` checks it, and those
    allowed are written together (one read, one transaction, the counters moved once).
    Each ticket's outcome, in the order given (repeats once): the ticket after the move, or
    the refusal (a ticket changed meanwhile is a conflict, as for a single move)."""
    require(principal, Action.TRANSITION)
    ids = list(dict.fromkeys(ticket_ids))
    found = repository.get_visible_many(db, principal, ids)
    outcome: dict[str, dict[str, Any] | DomainError] = {}
    pending: list[repository.Move] = []
    for ticket_id in ids:
        ticket = found.get(ticket_id)
        try:
            if ticket is None:
                raise TicketNotFound(ticket_id)
            if ticket["state"] == "duplicate":  # an undo moves the original too: alone
                outcome[ticket_id] = transition(
                    db=db, config=config, principal=principal, ticket_id=ticket_id,
                    to_state=to_state, note=note, public=public, now=now, ticket=ticket)
                continue
            entries, set_fields = _move(config=config, principal=principal, ticket=ticket,
                                        to_state=to_state, note=note, public=public, now=now)
        except DomainError as exc:
            outcome[ticket_id] = exc
            continue
        updated, changes = _changed(config=config, ticket=ticket, entries=entries, now=now,
                                    set_fields=set_fields)
        pending.append(repository.Move(ticket=ticket, updated=updated, changes=changes,
                                       entries=entries))
    written = repository.update_many_if_unchanged(db, pending, tz=config.business.tz)
    for move in pending:
        ticket_id = move.ticket["_id"]
        outcome[ticket_id] = move.updated if ticket_id in written else _conflict(move.ticket)
    return [(ticket_id, outcome[ticket_id]) for ticket_id in ids]


REOPEN_LATE = "reopen_after_window"


def _reopen_exception(*, config: TrackerConfig, principal: Principal, ticket: dict[str, Any],
                      reason: str | None, now: datetime) -> str | None:
    """Within the citizen's window after the last resolution a reopen is ordinary. After it,
    only a supervisor may reopen, with a reason, and the history marks it as an exception."""
    finished_at = ticket.get("finished_at")
    if finished_at is not None and now - finished_at <= timedelta(days=config.reopen_window_days):
        return None
    if not allowed(principal.role, Action.REOPEN_LATE):
        raise Forbidden(f"reopening more than {config.reopen_window_days} days after the "
                        "resolution is for supervisors", code="reopen_late",
                        days=config.reopen_window_days)
    if not (reason or "").strip():
        raise NotAllowed(f"reopening more than {config.reopen_window_days} days after the "
                         "resolution needs a reason (note)", code="reopen_reason", field="note",
                         days=config.reopen_window_days)
    return REOPEN_LATE


def add_note(*, db: Database, config: TrackerConfig, principal: Principal, ticket_id: str,
             note: str, public: bool, now: datetime) -> dict[str, Any]:
    require(principal, Action.ADD_NOTE)
    ticket = get_ticket(db=db, principal=principal, ticket_id=ticket_id)
    entry = _entry(seq=ticket["seq"] + 1, at=now, by=principal, from_state=ticket["state"],
                   to_state=ticket["state"], note=note, public=public)
    return _apply(db=db, config=config, ticket=ticket, entries=[entry], now=now)


def reroute(*, db: Database, config: TrackerConfig, principal: Principal, ticket_id: str,
            category: str | None, department: str | None, note: str | None,
            now: datetime) -> dict[str, Any]:
    """Not this department's ticket: rejected, then assigned to the right department. A new
    category is also a correction for the classifier."""
    require(principal, Action.REROUTE)
    ticket = get_ticket(db=db, principal=principal, ticket_id=ticket_id)
    category = category or ticket["category"]
    department = department or config.routing.department(category, ticket.get("district"))
    if department not in config.routing.departments():
        raise NotAllowed(f"unknown department {department!r}", code="unknown_department",
                         field="department")
    if department == ticket.get("department") and category == ticket["category"]:
        raise NotAllowed("the ticket is already routed there", code="same_route",
                         field="category")
    entries = []
    seq = ticket["seq"]
    state = ticket["state"]
    if state != "rejected":
        check_transition(state, "rejected")
        seq += 1
        entries.append(_entry(seq=seq, at=now, by=principal, from_state=state,
                              to_state="rejected", note=note, public=False))
        state = "rejected"
    correction = ({"old": ticket["category"], "new": category}
                  if category != ticket["category"] else None)
    entries.append(_entry(seq=seq + 1, at=now, by=principal, from_state=state,
                          to_state="assigned", department=department, correction=correction))
    return _apply(db=db, config=config, ticket=ticket, entries=entries, now=now,
                  set_fields={"category": category, "department": department})


def triage(*, db: Database, config: TrackerConfig, principal: Principal, ticket_id: str,
           category: str, district: str | None, note: str | None,
           now: datetime) -> dict[str, Any]:
    """An operator picks the category of a ticket the classifier was unsure about."""
    require(principal, Action.TRIAGE)
    ticket = get_ticket(db=db, principal=principal, ticket_id=ticket_id)
    if ticket["state"] not in {"triage", "rejected"}:
        raise IllegalTransition(ticket["state"], "assigned")
    district = district or ticket.get("district")
    department = config.routing.department(category, district)
    correction = ({"old": ticket["classified_category"], "new": category}
                  if category != ticket["classified_category"] else None)
    entry = _entry(seq=ticket["seq"] + 1, at=now, by=principal, from_state=ticket["state"],
                   to_state="assigned", department=department, note=note,
                   correction=correction)
    return _apply(db=db, config=config, ticket=ticket, entries=[entry], now=now,
                  set_fields={"category": category, "district": district,
                              "department": department})


def mark_duplicate(*, db: Database, config: TrackerConfig, principal: Principal,
                   ticket_id: str, original_id: str, note: str | None,
                   now: datetime) -> dict[str, Any]:
    require(principal, Action.MARK_DUPLICATE)
    ticket = get_ticket(db=db, principal=principal, ticket_id=ticket_id)
    if not role_may_move_to(principal.role, TicketState.DUPLICATE):
        raise Forbidden(f"role {principal.role} may not mark duplicates")
    check_transition(ticket["state"], "duplicate")
    if original_id == ticket_id:
        raise NotAllowed("a ticket cannot duplicate itself", code="duplicate_self",
                         field="original_id")
    original = repository.duplicate_target(db, original_id)
    if original is None:
        raise NotAllowed(f"no ticket {original_id}", code="unknown_original",
                         field="original_id")
    if original.get("duplicate_of"):
        original = repository.duplicate_target(db, original["duplicate_of"]) or original
    if original["_id"] == ticket_id:
        raise NotAllowed("that ticket is itself marked a duplicate of this one",
                         code="duplicate_cycle", field="original_id")
    public_note = note or translate("note.duplicate_of", NOTES_LANGUAGE,
                                    code=original["tracking_code"])
    entry = _entry(seq=ticket["seq"] + 1, at=now, by=principal, from_state=ticket["state"],
                   to_state="duplicate", note=public_note, public=True,
                   duplicate_of=original["tracking_code"])
    return _apply(db=db, config=config, ticket=ticket, entries=[entry], now=now,
                  set_fields={"duplicate_of": original["_id"],
                              "duplicate_of_code": original["tracking_code"]},
                  original_id=original["_id"])


def undo_target(ticket: dict[str, Any]) -> str | None:
    """The state a ticket marked duplicate returns to when the mark is undone."""
    mark = _last_mark(ticket) if ticket["state"] == "duplicate" else None
    return mark["from"] if mark else None


def _last_mark(ticket: dict[str, Any]) -> dict[str, Any] | None:
    return next((h for h in reversed(ticket["history"]) if h.get("to") == "duplicate"
                 and h.get("from") != "duplicate"), None)


def undo_duplicate(*, db: Database, config: TrackerConfig, principal: Principal,
                   ticket_id: str, reason: str, now: datetime,
                   ticket: dict[str, Any] | None = None) -> dict[str, Any]:
    """A supervisor takes back a wrong duplicate mark: the ticket returns to the state it had
    before the mark, the history keeps both entries (the undo names the mark and gives the
    reason) and the clocks count as if the mark had never been made."""
    require(principal, Action.UNDO_DUPLICATE)
    if not (reason or "").strip():
        raise NotAllowed("say why the duplicate mark was wrong (reason)", code="undo_reason",
                         field="note")
    ticket = ticket or get_ticket(db=db, principal=principal, ticket_id=ticket_id)
    mark = _last_mark(ticket) if ticket["state"] == "duplicate" else None
    if mark is None:
        raise NotAllowed("the ticket is not marked as a duplicate", code="not_duplicate")
    entry = _entry(seq=ticket["seq"] + 1, at=now, by=principal, from_state="duplicate",
                   to_state=mark["from"], note=reason, public=False, undoes=mark["seq"],
                   exception="duplicate_undone")
    return _apply(db=db, config=config, ticket=ticket, entries=[entry], now=now,
                  set_fields={"duplicate_of": None, "duplicate_of_code": None})


def _by_code(db: Database, tracking_code: str) -> dict[str, Any]:
    ticket = repository.by_tracking_code(db, tracking_code)
    if ticket is None:
        raise TicketNotFound(tracking_code)
    return ticket


def rate(*, db: Database, config: TrackerConfig, principal: Principal, tracking_code: str,
         score: int, comment: str | None, now: datetime) -> dict[str, Any]:
    """The citizen's 1-5 rating once the ticket is resolved; it closes the ticket."""
    require(principal, Action.CITIZEN_RATE)
    ticket = _by_code(db, tracking_code)
    if ticket.get("rating") is not None:
        raise NotAllowed("this ticket has already been rated", code="already_rated")
    if ticket["state"] not in {"resolved", "closed"}:
        raise NotAllowed("a ticket can be rated once it is resolved", code="not_resolved")
    to_state = "closed" if ticket["state"] == "resolved" else ticket["state"]
    rating = {"score": score, "comment": comment, "at": now}
    entry = _entry(seq=ticket["seq"] + 1, at=now, by=principal, from_state=ticket["state"],
                   to_state=to_state, rating=score)
    return _apply(db=db, config=config, ticket=ticket, entries=[entry], now=now,
                  set_fields={"rating": rating, "closed_at": now})


def reopen(*, db: Database, config: TrackerConfig, principal: Principal, tracking_code: str,
           reason: str, now: datetime) -> dict[str, Any]:
    """The citizen is not satisfied: reopen within the window after resolution."""
    require(principal, Action.CITIZEN_REOPEN)
    ticket = _by_code(db, tracking_code)
    check_transition(ticket["state"], "reopened")
    finished_at = ticket.get("finished_at")
    if finished_at is None or now - finished_at > timedelta(days=config.reopen_window_days):
        raise NotAllowed(f"a ticket can be reopened within {config.reopen_window_days} days "
                         "of its resolution", code="reopen_window",
                         days=config.reopen_window_days)
    entry = _entry(seq=ticket["seq"] + 1, at=now, by=principal, from_state=ticket["state"],
                   to_state="reopened", note=reason, public=False)
    return _apply(db=db, config=config, ticket=ticket, entries=[entry], now=now,
                  set_fields={"rating": None, "reopen_count": ticket.get("reopen_count", 0) + 1})


def citizen_reply(*, db: Database, config: TrackerConfig, principal: Principal,
                  tracking_code: str, text: str | None, photo_ids: list[str],
                  now: datetime) -> dict[str, Any]:
    """The citizen answers while the ticket waits for them: a citizen note (with the photos'
    ids) and back to in_progress, which resumes the resolution clock."""
    require(principal, Action.CITIZEN_REPLY)
    if not (text or "").strip() and not photo_ids:
        raise NotAllowed("an answer needs text or a photo", code="empty_answer")
    ticket = _by_code(db, tracking_code)
    if ticket["state"] != "waiting_citizen":
        raise NotAllowed("the ticket is not waiting for the citizen's answer",
                         code="not_waiting")
    entry = _entry(seq=ticket["seq"] + 1, at=now, by=principal, from_state="waiting_citizen",
                   to_state="in_progress", note=redact_contacts(text) if text else None,
                   public=False, citizen=True, photos=list(photo_ids) or None)
    photos = [*ticket.get("citizen_photos", []), *photo_ids]
    return _apply(db=db, config=config, ticket=ticket, entries=[entry], now=now,
                  set_fields={"citizen_photos": photos} if photo_ids else None)

