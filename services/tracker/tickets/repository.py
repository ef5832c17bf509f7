"""Every query of the tickets collection that the tickets service, the API and the pages
make, with typed filters, and the embedded store's workarounds in this one place:

- a condition on `state` with `$in`/`$nin` over several states, or on a nested field
  (`sla.state`), makes the embedded store read the whole collection (or every ticket of the
  department): several states are read with one indexed query per state, merged here in
  order, and the other conditions of a multi-state read apply in Python;
- `find_one_and_update` scans the collection: a change is one `update_one` on `_id` and `seq`.

Its callers are the tickets service, the API and the pages, the SLA monitor (the tickets
coming due, the recompute after a change of rules), the publisher (the ticket outbox and the
SLA alert outbox) and the figures' reference count (`stats/service.py`); none of them passes a
raw filter.

"Breached" has one definition, `services.tracker.sla.summary.is_breached`: `breach_page` is that
rule as a query (a range of `breach_at` placed by the counters' open breaches by hour), and
the stored `sla.breached` the figures count is that rule as of the ticket's last recompute."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from services.tracker.sla.summary import is_breached
from services.tracker.staff import Principal, Role
from services.tracker.stats import counters
from services.tracker.store import ALERTS, TICKETS
from shared.mongo import insert_new
from shared.tickets import OPEN_STATES, SlaState, TicketState

Ticket = dict[str, Any]
WITHOUT_HISTORY = {"history": 0}
QUEUE_ORDER = [("queue_key", ASCENDING), ("_id", ASCENDING)]


@dataclass(frozen=True)
class TicketFilter:
    """What a queue shows. `states` None: the open states."""

    states: tuple[TicketState, ...] | None = None
    category: str | None = None
    district: str | None = None
    department: str | None = None  # ignored for a handler: they see their department's
    urgent: bool | None = None
    sla_state: SlaState | None = None
    assignee: str | None = None  # the owner's user name (issue 20)
    unowned: bool = False  # only the tickets nobody owns

    def owner_condition(self) -> dict[str, Any]:
        """On the indexed `assignee` field: part of every per-state query."""
        if self.unowned:
            return {"assignee": None}  # also matches tickets stored before owners existed
        return {"assignee": self.assignee} if self.assignee is not None else {}

    def wanted(self) -> dict[str, Any]:
        return {key: value for key, value in (("category", self.category),
                                              ("district", self.district),
                                              ("urgent", self.urgent)) if value is not None}

    def keeps(self, ticket: Ticket) -> bool:
        return all(ticket.get(k) == v for k, v in self.wanted().items()) and (
            not self.sla_state or ticket.get("sla", {}).get("state") == self.sla_state)


def visible_filter(principal: Principal) -> dict[str, Any]:
    """The tickets a principal may see: a handler, their department's; the others, all."""
    if principal.role == Role.HANDLER:
        return {"department": principal.department}
    if principal.sees_all() or principal.role == Role.SERVICE:
        return {}
    return {"_id": None}


def get_visible(db: Database, principal: Principal, ticket_id: str) -> Ticket | None:
    return db[TICKETS].find_one({"_id": ticket_id, **visible_filter(principal)})


def get_visible_many(db: Database, principal: Principal, ticket_ids: Sequence[str]
                     ) -> dict[str, Ticket]:
    """The tickets among `ticket_ids` the principal may see, by id, in one read."""
    return {t["_id"]: t for t in db[TICKETS].find(
        {"_id": {"$in": list(ticket_ids)}, **visible_filter(principal)})}


def get(db: Database, ticket_id: str) -> Ticket | None:
    return db[TICKETS].find_one({"_id": ticket_id})


def by_tracking_code(db: Database, tracking_code: str,
                     fields: Iterable[str] | None = None) -> Ticket | None:
    projection = dict.fromkeys(fields, 1) if fields is not None else None
    return db[TICKETS].find_one({"tracking_code": tracking_code}, projection)


def duplicate_target(db: Database, ticket_id: str) -> Ticket | None:
    """What marking a duplicate needs of the original: its code, state and own mark."""
    return db[TICKETS].find_one({"_id": ticket_id},
                                {"tracking_code": 1, "state": 1, "duplicate_of": 1})


def queue(db: Database, *, principal: Principal, filters: TicketFilter, limit: int,
          offset: int) -> tuple[list[Ticket], int]:
    """The tickets the principal may see, nearest deadline first, and how many match."""
    base: dict[str, Any] = {**visible_filter(principal)}
    if filters.department and principal.role != Role.HANDLER:
        base["department"] = filters.department
    base.update(filters.owner_condition())
    states = filters.states if filters.states is not None else OPEN_STATES
    if len(states) == 1:  # one indexed query holds every condition
        query = {**base, "state": states[0], **filters.wanted()}
        if filters.sla_state:
            query["sla.state"] = filters.sla_state
        total = db[TICKETS].count_documents(query)
        docs = list(db[TICKETS].find(query, WITHOUT_HISTORY).sort(QUEUE_ORDER)
                    .skip(offset).limit(limit))
        return docs, total
    return _merged(db, base, states, filters, limit=limit, offset=offset)


def _merged(db: Database, base: dict[str, Any], states: Sequence[TicketState],
            filters: TicketFilter, *, limit: int, offset: int) -> tuple[list[Ticket], int]:
    filtered = bool(filters.wanted() or filters.sla_state)
    total, found = 0, []
    for state in states:
        one = {**base, "state": state}
        if filtered:
            matching = [t for t in db[TICKETS].find(one, WITHOUT_HISTORY).sort(QUEUE_ORDER)
                        if filters.keeps(t)]
            total += len(matching)
            found.extend(matching[:offset + limit])
        else:
            total += db[TICKETS].count_documents(one)
            found.extend(db[TICKETS].find(one, WITHOUT_HISTORY).sort(QUEUE_ORDER)
                         .limit(offset + limit))
    found.sort(key=lambda t: (t["queue_key"], t["_id"]))
    return found[offset:offset + limit], total


# what a row of a breach list shows (the dashboard, the full list): no history, no text
BREACH_ROW_FIELDS = {"tracking_code": 1, "department": 1, "category": 1, "state": 1,
                     "breach_at": 1, "expected_resolution_at": 1}
RULE_FIELDS = {"state": 1, "department": 1, "breach_at": 1}  # what the rule checks here
HOUR = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BreachSpan:
    """Where a run of the breach list lies in the `breach_at` index: from the hour `first`
    (None: from the oldest) to the hour `last` included (None: up to now), and how many
    breaches of the span come before the run."""
    first: int | None
    last: int | None
    offset: int

    def condition(self, now: datetime) -> dict[str, datetime]:
        bounds: dict[str, datetime] = {"$lte": now}
        if self.first is not None:
            bounds["$gte"] = EPOCH + self.first * HOUR
        if self.last is not None and EPOCH + (self.last + 1) * HOUR <= now:
            bounds = {**bounds, "$lt": EPOCH + (self.last + 1) * HOUR}
            del bounds["$lte"]
        return bounds


def breach_span(hours: Sequence[tuple[int, int]], *, skip: int, limit: int) -> BreachSpan:
    """The hours that hold the open breaches ranked `skip` to `skip + limit` (most overdue
    first), from the counters' breaches by hour (`counters.breach_hours`, oldest first).
    The first run of the list has no lower bound, and a run that reaches the last counted
    hour no upper one but now: a breach the counters do not hold yet (the monitor's sweep
    counts it) is still read there."""
    start, before = 0, 0
    while start < len(hours) - 1 and before + hours[start][1] <= skip:
        before += hours[start][1]
        start += 1
    last, held = None, 0
    for hour, n in hours[start:-1]:
        held += n
        if held >= skip - before + limit:
            last = hour
            break
    return BreachSpan(first=hours[start][0] if start > 0 else None, last=last,
                      offset=skip - before)


def _read_span(db: Database, span: BreachSpan, *, now: datetime, department: str | None,
               fields: dict[str, int]) -> list[Ticket]:
    # one range of the `breach_at` index, nothing beside it, the rest of the rule checked
    # here: the embedded store reads every ticket of the range and no other (explain's
    # docsExamined; with a state or a department beside it, explain says COLLSCAN)
    wanted = fields if 0 in fields.values() else {**fields, **RULE_FIELDS}
    found = db[TICKETS].find({"breach_at": span.condition(now)}, wanted)
    return sorted((t for t in found if is_breached(t, now=now)
                   and (department is None or t.get("department") == department)),
                  key=lambda t: (t["breach_at"], t["_id"]))


def breach_page(db: Database, *, now: datetime, hours: Sequence[tuple[int, int]],
                limit: int, skip: int = 0, department: str | None = None,
                fields: dict[str, int] = BREACH_ROW_FIELDS) -> list[Ticket]:
    """Open tickets past a deadline (`is_breached`), most overdue first, paused ones
    included when their deadline passed, the first `skip` left out, at most `limit`.
    `hours` are the counters' open breaches by hour (of `department` when one is given):
    the read is one range of the `breach_at` index holding those `limit` and the rest of
    the hours they share, so it reads about `limit` tickets however many are breached (the
    embedded store reads every match of a sorted, limited query, so a sort is no bound).
    Ranks follow the counters, which count a breach at the monitor's sweep: one not counted
    yet is shown on the last page."""
    span = breach_span(hours, skip=skip, limit=limit)
    found = _read_span(db, span, now=now, department=department, fields=fields)
    return found[span.offset:span.offset + limit]


def breaches(db: Database, *, now: datetime, limit: int, department: str | None = None,
             fields: dict[str, int] = WITHOUT_HISTORY) -> list[Ticket]:
    """Every open breach read, most overdue first, the first `limit`: the rule as one query,
    for checks; the lists read `breach_page`, whose cost does not follow the breaches."""
    return breach_page(db, now=now, hours=(), limit=limit, department=department,
                       fields=fields)


def latest_breaches(db: Database, *, now: datetime, hours: Sequence[tuple[int, int]],
                    limit: int, department: str | None = None) -> list[Ticket]:
    """Up to `limit` open breaches, the latest first, with the fields of a row: the last
    hours of `hours` (the counters' open breaches by hour) that hold `limit` of them, up to
    now, in one range read, so about `limit` tickets however many are breached."""
    total = sum(n for _, n in hours)
    span = breach_span(hours, skip=max(total - limit, 0), limit=limit)
    found = _read_span(db, BreachSpan(span.first, None, 0), now=now, department=department,
                       fields=BREACH_ROW_FIELDS)
    return found[::-1][:limit]


def similar_open(db: Database, *, pairs: Iterable[tuple[str, str]], since: datetime,
                 now: datetime) -> list[Ticket]:
    """Open, unmarked tickets of these (category, district) pairs filed between `since` and
    `now`, newest first, with what the duplicate finder compares. One query per pair on the
    (category, district, created_at) index, the state checked here: the embedded store answers
    `$in` over categories and districts, or a `state` condition beside them, by scanning
    (3 s at 6,000 tickets, measured), and a pair with its closed time range in 18 ms."""
    found: list[Ticket] = []
    for category, district in sorted(set(pairs)):
        found.extend(t for t in db[TICKETS].find(
            {"category": category, "district": district,
             "created_at": {"$gte": since, "$lte": now}},
            {"tracking_code": 1, "category": 1, "district": 1, "dup_keys": 1, "created_at": 1,
             "state": 1, "duplicate_of": 1})
            if t.get("state") in OPEN_STATES and t.get("duplicate_of") is None)
    found.sort(key=lambda t: t["created_at"], reverse=True)
    return found


def descriptions(db: Database, ticket_ids: Sequence[str]) -> dict[str, str]:
    return {d["_id"]: d["description"]
            for d in db[TICKETS].find({"_id": {"$in": list(ticket_ids)}}, {"description": 1})}


def insert_many_new(db: Database, tickets: list[Ticket], *, tz: ZoneInfo) -> set[int]:
    """Insert the tickets and count them in the figures, in one transaction; the indexes of
    those that already existed (replays), neither inserted nor counted."""
    return counters.insert(db, tickets, tz=tz)


def update_if_unchanged(db: Database, *, ticket: Ticket, updated: Ticket,
                        changes: dict[str, Any], entries: list[dict[str, Any]],
                        tz: ZoneInfo, original_id: str | None = None) -> bool:
    """Apply the change only if nobody changed the ticket since it was read (its `seq` and
    figures hash); the figures' counters move in the same transaction. `original_id`: the
    change marks the ticket a duplicate of that one, which is flagged as having duplicates
    in the same transaction (a ticket never flagged skips the lookup of its duplicates)."""
    also = ([({"_id": original_id}, {"$set": {"has_duplicates": True}})]
            if original_id is not None else [])
    try:
        counters.save(db, counters.Change(
            ticket=ticket, updated=updated, filter={"_id": ticket["_id"], "seq": ticket["seq"]},
            update={"$set": changes, "$push": {"history": {"$each": entries}}}, also=also),
            tz=tz)
    except counters.Lost:
        return False
    return True


@dataclass
class Move:
    """One ticket change of a batch: the ticket as read, after the change, the fields that
    change and the history entries it appends."""
    ticket: Ticket
    updated: Ticket
    changes: dict[str, Any]
    entries: list[dict[str, Any]]


def update_many_if_unchanged(db: Database, moves: Sequence[Move], *, tz: ZoneInfo) -> set[str]:
    """`update_if_unchanged` for a batch, in one transaction with one move of the figures'
    counters; the ids of the tickets written (the others changed since they were read)."""
    if not moves:
        return set()
    return counters.save_batch(db, [counters.Change(
        ticket=m.ticket, updated=m.updated, filter={"_id": m.ticket["_id"], "seq": m.ticket["seq"]},
        update={"$set": m.changes, "$push": {"history": {"$each": m.entries}}})
        for m in moves], tz=tz)


# --- owners (issue 20) ------------------------------------------------------------------

def assignees(db: Database, ticket_ids: Iterable[str]) -> dict[str, str | None]:
    """Who owns each of the tickets (None: nobody)."""
    return {t["_id"]: t.get("assignee") for t in db[TICKETS].find(
        {"_id": {"$in": list(dict.fromkeys(ticket_ids))}}, {"assignee": 1})}


def open_owned(db: Database, *, department: str | None) -> Iterator[Ticket]:
    """The open tickets' department, owner and resolution deadline (the supervisor's load):
    one indexed query per open state."""
    base: dict[str, Any] = {"department": department} if department else {}
    for state in OPEN_STATES:
        yield from db[TICKETS].find({**base, "state": state},
                                    {"department": 1, "assignee": 1,
                                     "expected_resolution_at": 1})


def resolved_since(db: Database, *, department: str | None, since: datetime
                   ) -> Iterator[Ticket]:
    """Tickets resolved or closed since `since`, with their owner and times (per-handler
    figures; the index on department and finished_at)."""
    query: dict[str, Any] = {"finished_at": {"$gte": since},
                             "state": {"$in": [TicketState.RESOLVED, TicketState.CLOSED]}}
    if department:
        query["department"] = department
    yield from db[TICKETS].find(query, {"assignee": 1, "department": 1, "finished_at": 1,
                                        "finished_on_time": 1, "started_at": 1})


# --- search (issue 20) ------------------------------------------------------------------

def changed_since(db: Database, *, since: datetime | None, fields: dict[str, int],
                  batch: int) -> Iterator[Ticket]:
    """Tickets changed at or after `since` (all of them when None): the search index's
    refresh (the index on `updated_at`)."""
    query: dict[str, Any] = {"updated_at": {"$gte": since}} if since is not None else {}
    yield from db[TICKETS].find(query, fields, batch_size=batch)


SEARCH_FIELDS = {"history": 0, "dup_keys": 0}


def visible_by_code(db: Database, principal: Principal, tracking_code: str) -> Ticket | None:
    return db[TICKETS].find_one({"tracking_code": tracking_code, **visible_filter(principal)},
                                SEARCH_FIELDS)


def visible_by_contact_index(db: Database, principal: Principal, index: str | None, *,
                             limit: int) -> list[Ticket]:
    """The tickets carrying a phone number's blind index, newest first."""
    if index is None:
        return []
    return list(db[TICKETS].find({"contact_index": index, **visible_filter(principal)},
                                 SEARCH_FIELDS).sort("created_at", DESCENDING).limit(limit))


def visible_by_ids(db: Database, principal: Principal, ticket_ids: Sequence[str]
                   ) -> list[Ticket]:
    """The tickets among `ticket_ids` the principal may see, in the order of the ids."""
    found = {d["_id"]: d for d in db[TICKETS].find(
        {"_id": {"$in": list(ticket_ids)}, **visible_filter(principal)}, SEARCH_FIELDS)}
    return [found[i] for i in ticket_ids if i in found]


# --- the SLA monitor ---------------------------------------------------------------------

# No check is ever due before this: the lower bound lets the embedded store read the index
# range; with `$lte` alone it scanned every ticket (200 ms a sweep at 1,000 tickets, growing)
EARLIEST_CHECK = datetime(1970, 1, 1, tzinfo=UTC)


def due_filter(now: datetime) -> dict[str, Any]:
    """Tickets with a check due by `now` (closed ones have none)."""
    return {"sla.next_check_at": {"$gte": EARLIEST_CHECK, "$lte": now}}


def due_for_check(db: Database, *, now: datetime, limit: int) -> list[Ticket]:
    """Tickets whose next SLA check has come, earliest first (the monitor's sweep: its cost
    follows the index on `sla.next_check_at`, not the number of open tickets)."""
    return list(db[TICKETS].find(due_filter(now))
                .sort("sla.next_check_at", ASCENDING).limit(limit))


def open_pages(db: Database, *, batch: int) -> Iterator[list[Ticket]]:
    """Every open ticket, in pages of `batch` by `_id`: one indexed query per open state."""
    for state in OPEN_STATES:
        yield from _pages(db, {"state": state}, batch)


def without_outcome_pages(db: Database, *, batch: int) -> Iterator[list[Ticket]]:
    """Tickets stored before the outcome fields existed (`first_responses`), in pages."""
    yield from _pages(db, {"first_responses": {"$exists": False}}, batch)


def _pages(db: Database, query: dict[str, Any], batch: int) -> Iterator[list[Ticket]]:
    last_id = ""
    while page := list(db[TICKETS].find({**query, "_id": {"$gt": last_id}})
                       .sort("_id", ASCENDING).limit(batch)):
        yield page
        last_id = page[-1]["_id"]


def save_recomputed(db: Database, recomputed: Sequence[tuple[Ticket, dict[str, Any]]], *,
                    tz: ZoneInfo) -> int:
    """Store each ticket's recomputed SLA fields on the condition that it did not change since
    it was read (a ticket changed meanwhile already has fresh fields); the figures' counters
    move in the same write. Returns how many were written."""
    if not recomputed:
        return 0
    return counters.save_many(db, [counters.Change(
        ticket=ticket, updated={**ticket, **fields},
        filter={"_id": ticket["_id"], "seq": ticket["seq"]}, update={"$set": fields})
        for ticket, fields in recomputed], tz=tz)


# --- the publisher: the tickets' outbox --------------------------------------------------

def collection(db: Database) -> Collection:
    """The tickets collection itself, for the publisher's change stream."""
    return db[TICKETS]


def by_ids(db: Database, ticket_ids: Iterable[str], *, history: bool) -> dict[str, Ticket]:
    """The tickets of these ids (without their history unless asked), by id."""
    return {t["_id"]: t for t in db[TICKETS].find(
        {"_id": {"$in": list(dict.fromkeys(ticket_ids))}}, None if history else WITHOUT_HISTORY)}


def updated_since(db: Database, since: datetime | None) -> Iterator[Ticket]:
    """Tickets changed at or after `since` (every ticket for None), in `updated_at` order on
    its index: one cursor."""
    query = {} if since is None else {"updated_at": {"$gte": since}}
    return db[TICKETS].find(query).sort("updated_at", ASCENDING).batch_size(500)


# --- SLA alerts: the monitor's claims, the publisher's outbox ----------------------------

def claim_alerts(db: Database, alerts: list[dict[str, Any]]) -> set[int]:
    """Insert the alert documents in one unordered write; the indexes of those already
    claimed (their id, `ticket:clock:level`, was taken before)."""
    return insert_new(db[ALERTS], alerts) if alerts else set()


def pending_alerts(db: Database, *, limit: int) -> list[dict[str, Any]]:
    return list(db[ALERTS].find({"pending": True}).limit(limit))


def mark_alerts_published(db: Database, alert_ids: Sequence[str], *, at: datetime) -> None:
    db[ALERTS].update_many({"_id": {"$in": list(alert_ids)}},
                           {"$set": {"pending": False, "published_at": at}})


# --- the figures' reference count (stats/service.py) -------------------------------------

FIGURE_FIELDS = {"department": 1, "state": 1, "sla.breached": 1, "finished_at": 1,
                 "finished_on_time": 1, "started_at": 1, "rating": 1, "duplicate_of": 1,
                 "first_responses": 1}


def for_figures(db: Database, *, since: datetime | None) -> list[Ticket]:
    """What the figures of a window (`since`; None: all time) read: every ticket open or
    marked duplicate now (a duplicate finishes when its original does), and those finished,
    rated or first answered in the window."""
    if since is None:
        return list(db[TICKETS].find({}, FIGURE_FIELDS))
    return list(db[TICKETS].find(
        {"$or": [{"state": {"$in": [*OPEN_STATES, TicketState.DUPLICATE]}},
                 {"finished_at": {"$gte": since}}, {"rating.at": {"$gte": since}},
                 {"first_responses.responded_at": {"$gte": since}}]}, FIGURE_FIELDS))


def figures_by_ids(db: Database, ticket_ids: Iterable[str]) -> list[Ticket]:
    """The figure fields of these tickets (the originals of duplicates)."""
    return list(db[TICKETS].find({"_id": {"$in": sorted(set(ticket_ids))}}, FIGURE_FIELDS))
