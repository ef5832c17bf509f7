"""Publishes what the tracker stored to Kafka: ticket history as status events, a category
correction as a correction event, SLA alerts as alerts.

The ticket document is its own outbox: the publisher tails the tickets collection's change
stream (shared/stream_outbox.py) and publishes the history entries each change appended, so a
ticket change costs no second write. Its resume point and the `updated_at` of the last
acknowledged change are saved in the publisher's lease document after the broker
acknowledged a batch; a lost resume point (a first start, an oplog rolled past it)
republishes the tickets changed since that time, less a margin, from the store; a broker that
comes back without the ticket topics (the embedded one keeps them in memory) gets the
replay window's tickets again. SLA alerts are claimed (`pending`) by the monitor and sent by
the shared outbox publisher (shared/outbox.py: lease, batch, send and wait for
acknowledgements). Event ids are deterministic (`ticket:seq`, `ticket:clock:level`) so a
consumer recognises a repeat after a crash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from services.tracker.store import LEASES
from services.tracker.tickets import repository
from shared.clock import Clock
from shared.events import (
    Event,
    SlaAlertV1,
    TicketCorrectedV1,
    TicketStatusChangedV1,
    encode_event,
)
from shared.kafka import Outgoing
from shared.lease import Lease
from shared.outbox import OutboxPublisher, OutboxSpec, SimpleSource
from shared.settings import Settings
from shared.stream_outbox import ChangeStreamSource
from shared.topics import SLA_ALERTS, TICKETS_CORRECTIONS, TICKETS_STATUS

BATCH = 200
LEASE_ID = "publisher"
# how far before the last acknowledged change a lost resume point is recovered from: two
# writers' clocks, and a change written a moment before another but committed after it
RECOVERY_MARGIN = timedelta(minutes=10)
# only changes that can append history (the monitor's recomputes do not touch `seq`)
_HISTORY_CHANGES = [{"$match": {"$or": [
    {"operationType": {"$in": ["insert", "replace"]}},
    {"updateDescription.updatedFields.seq": {"$exists": True}}]}}]
_APPENDED = re.compile(r"^history\.\d+$")


def ticket_events(ticket: dict[str, Any], entries: Iterable[dict[str, Any]] | None = None,
                  ) -> list[tuple[str, Event]]:
    """The events of these history entries of a ticket (all of its history by default),
    as (topic, event)."""
    events: list[tuple[str, Event]] = []
    for entry in ticket["history"] if entries is None else entries:
        events.append((TICKETS_STATUS, TicketStatusChangedV1(
            event_id=f"{ticket['_id']}:{entry['seq']}", occurred_at=entry["at"],
            ticket_id=ticket["_id"], report_id=ticket["report_id"],
            tracking_code=ticket["tracking_code"], seq=entry["seq"],
            from_state=entry["from"], to_state=entry["to"],
            public_note=entry["note"] if entry.get("public") else None,
            category=ticket["category"], department=ticket.get("department"),
            expected_resolution_at=ticket.get("expected_resolution_at"),
            duplicate_of=entry.get("duplicate_of"), rating=entry.get("rating"))))
        correction = entry.get("correction")
        if correction:
            events.append((TICKETS_CORRECTIONS, TicketCorrectedV1(
                event_id=f"{ticket['_id']}:{entry['seq']}:corrected", occurred_at=entry["at"],
                report_id=ticket["report_id"], text=ticket["description"],
                old_category=correction["old"], new_category=correction["new"],
                district=ticket.get("district"), urgent=bool(ticket.get("urgent")))))
    return events


def appended_entries(change: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The history entries a change of the tickets collection appended: [] for a change
    without any, None when the change does not say which (then the whole history)."""
    operation = change["operationType"]
    if operation in ("insert", "replace"):
        return list(change["fullDocument"].get("history") or [])
    if operation != "update":
        return []
    fields = change["updateDescription"]["updatedFields"]
    appended = [v for k, v in fields.items() if _APPENDED.match(k)]
    appended += fields.get("history") or []
    if appended:
        return appended
    return None if "seq" in fields else []


def _changed_at(change: dict[str, Any]) -> datetime | None:
    doc = change.get("fullDocument") or change.get("updateDescription", {}).get(
        "updatedFields", {})
    return doc.get("updated_at")


class TicketHistory(ChangeStreamSource):
    """The tickets collection's change stream: each change's new history entries. An outbox
    entry is a ticket (without its history) and the entries to publish."""

    def __init__(self, *, settings: Settings, db: Database, clock: Clock, lease: Lease,
                 batch: int = BATCH) -> None:
        super().__init__(collection=repository.collection(db), pipeline=_HISTORY_CHANGES,
                         state=db[LEASES], state_id=LEASE_ID, lease=lease, clock=clock)
        self.settings = settings
        self.db = db
        self.batch = batch

    def entries(self, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        wanted: dict[str, dict[int, dict[str, Any]]] = {}
        whole: set[str] = set()
        changed_at: dict[str, datetime] = {}
        for change in changes:
            ticket_id = change["documentKey"]["_id"]
            appended = appended_entries(change)
            if appended == []:
                continue
            wanted.setdefault(ticket_id, {}).update({e["seq"]: e for e in appended or []})
            if appended is None:
                whole.add(ticket_id)
            at = _changed_at(change)
            if at is not None:
                changed_at[ticket_id] = max(at, changed_at.get(ticket_id, at))
        if not wanted:
            return []
        tickets = repository.by_ids(self.db, wanted, history=bool(whole))
        out = []
        for ticket_id, by_seq in wanted.items():
            ticket = tickets.get(ticket_id)
            if ticket is None:
                continue
            if ticket_id in whole:
                by_seq.update({e["seq"]: e for e in ticket["history"]})
            out.append({"ticket": ticket, "entries": [by_seq[s] for s in sorted(by_seq)],
                        "at": changed_at.get(ticket_id) or ticket.get("updated_at")})
        return out

    def messages(self, entry: dict[str, Any]) -> list[Outgoing]:
        key = entry["ticket"]["_id"].encode()
        return [Outgoing(topic, key, encode_event(event))
                for topic, event in ticket_events(entry["ticket"], entry["entries"])]

    def progress(self, entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
        times = [e["at"] for e in entries if e["at"] is not None]
        return {"acked_at": max(times)} if times else {}

    def recover(self, state: dict[str, Any]) -> int:
        """Every ticket changed since the last acknowledged change (less the margin), all of
        its history that the publisher of a release before this one had not marked
        published (`published_seq`); on a first start, every ticket."""
        acked_at = state.get("acked_at")
        return self._republish(None if acked_at is None else acked_at - RECOVERY_MARGIN,
                               skip_published=True)

    def topics_lost(self, created_topics: list[str]) -> None:
        if TICKETS_STATUS in created_topics or TICKETS_CORRECTIONS in created_topics:
            # the broker lost what it held: the replay window's tickets again
            self._republish(self.clock() - timedelta(hours=self.settings.replay_window_hours),
                            skip_published=False)

    def _republish(self, since: datetime | None, *, skip_published: bool) -> int:
        return self.republish(_from_store(repository.updated_since(self.db, since),
                                          skip_published=skip_published),
                              batch_size=self.batch)


def _from_store(tickets: Iterable[dict[str, Any]], *, skip_published: bool
                ) -> Iterator[dict[str, Any]]:
    for ticket in tickets:
        after = ticket.get("published_seq", 0) if skip_published else 0
        entries = [e for e in ticket["history"] if e["seq"] > after]
        if entries:
            yield {"ticket": ticket, "entries": entries, "at": ticket.get("updated_at")}


def alert_event(doc: dict[str, Any]) -> SlaAlertV1:
    return SlaAlertV1.model_validate(doc["event"])


class PendingAlerts(SimpleSource):
    """SLA alerts the monitor claimed (`pending`)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def pending(self, limit: int) -> list[dict[str, Any]]:
        return repository.pending_alerts(self.db, limit=limit)

    def messages(self, entry: dict[str, Any]) -> list[Outgoing]:
        return [Outgoing(SLA_ALERTS, entry["ticket_id"].encode(),
                         encode_event(alert_event(entry)))]

    def mark_published(self, entries: Sequence[dict[str, Any]]) -> None:
        repository.mark_alerts_published(self.db, [a["_id"] for a in entries], at=self.clock())


class Publisher(OutboxPublisher):
    def __init__(self, *, settings: Settings, db: Database, clock: Clock,
                 batch: int = BATCH) -> None:
        lease = Lease(db[LEASES], LEASE_ID, clock=clock,
                      duration=timedelta(seconds=settings.publisher_lease_seconds))
        self.tickets = TicketHistory(settings=settings, db=db, clock=clock, lease=lease,
                                     batch=batch)
        spec = OutboxSpec(name="tracker-publisher",
                          sources=(self.tickets, PendingAlerts(db, clock)),
                          batch_size=batch, idle_seconds=settings.publisher_idle_seconds)
        super().__init__(spec, settings=settings, lease=lease)

