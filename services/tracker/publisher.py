"""Publishes what the tracker stored to Kafka: ticket history as status events, a category
correction as a correction event, SLA alerts as alerts.

The ticket document and the alert document are their own outbox: a change sets
`unpublished` (or `pending`), and the shared outbox publisher (shared/outbox.py: lease, batch,
send and wait for acknowledgements) runs the two sources below; a ticket's flag is cleared on
the condition that nothing changed meanwhile. Event ids are deterministic (`ticket:seq`,
`ticket:clock:level`) so a consumer recognises a repeat after a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
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
from shared.topics import SLA_ALERTS, TICKETS_CORRECTIONS, TICKETS_STATUS

BATCH = 200


def ticket_events(ticket: dict[str, Any]) -> list[tuple[str, Event]]:
    """The not yet published part of a ticket's history, as (topic, event)."""
    events: list[tuple[str, Event]] = []
    for entry in ticket["history"]:
        if entry["seq"] <= ticket.get("published_seq", 0):
            continue
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


def alert_event(doc: dict[str, Any]) -> SlaAlertV1:
    return SlaAlertV1.model_validate(doc["event"])


class TicketHistory(SimpleSource):
    """Tickets flagged `unpublished`: the new part of their history."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def pending(self, limit: int) -> list[dict[str, Any]]:
        return repository.unpublished(self.db, limit=limit)

    def messages(self, entry: dict[str, Any]) -> list[Outgoing]:
        return [Outgoing(topic, entry["_id"].encode(), encode_event(event))
                for topic, event in ticket_events(entry)]

    def mark_published(self, entries: Sequence[dict[str, Any]]) -> None:
        repository.mark_published(self.db, entries)


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
        spec = OutboxSpec(name="tracker-publisher",
                          sources=(TicketHistory(db), PendingAlerts(db, clock)),
                          batch_size=batch, idle_seconds=settings.publisher_idle_seconds)
        super().__init__(spec, settings=settings, lease=Lease(
            db[LEASES], "publisher", clock=clock,
            duration=timedelta(seconds=settings.publisher_lease_seconds)))

