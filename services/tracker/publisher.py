"""Publishes what the tracker stored to Kafka: ticket history as status events, a category
correction as a correction event, SLA alerts as alerts.

The ticket document and the alert document are their own outbox: a change sets
`unpublished` (or `pending`), and this loop, holding a lease so that one replica publishes
at a time, sends the events, waits for the broker's acknowledgement and only then clears the
flag, on the condition that nothing changed meanwhile. Event ids are deterministic
(`ticket:seq`, `ticket:clock:level`) so a consumer recognises a repeat after a crash.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from kafka import KafkaProducer
from prometheus_client import Counter
from pymongo.database import Database
from pymongo.errors import PyMongoError

from services.tracker.store import ALERTS, LEASES, TICKETS
from shared.clock import Clock
from shared.events import (
    Event,
    SlaAlertV1,
    TicketCorrectedV1,
    TicketStatusChangedV1,
    encode_event,
)
from shared.kafka import ensure_topics, make_producer
from shared.lease import Lease
from shared.retry import TRANSIENT, Outage
from shared.settings import Settings
from shared.topics import SLA_ALERTS, TICKETS_CORRECTIONS, TICKETS_STATUS

log = logging.getLogger(__name__)
PUBLISHED = Counter("tracker_published_events_total", "Events the tracker published",
                    ["topic"])


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


def send_all(producer: KafkaProducer, events: list[tuple[str, Event, bytes]]) -> None:
    futures = [producer.send(topic, key=key, value=encode_event(event))
               for topic, event, key in events]
    producer.flush(timeout=15)
    for future in futures:
        future.get(timeout=0.1)
    for topic, _, _ in events:
        PUBLISHED.labels(topic).inc()


class Publisher:
    def __init__(self, *, settings: Settings, db: Database, clock: Clock,
                 batch: int = 200) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.batch = batch
        self.lease = Lease(db[LEASES], "publisher", clock=clock,
                           duration=timedelta(seconds=settings.publisher_lease_seconds))
        self.producer: KafkaProducer | None = None

    def publish_once(self) -> int:
        """One round; returns how many documents it published."""
        assert self.producer is not None
        if not self.lease.acquire():
            return 0
        done = 0
        tickets = list(self.db[TICKETS].find({"unpublished": True}).limit(self.batch))
        # renewed right before each send: a round slower than the lease must not overlap with
        # the next holder's (that would publish the same events twice)
        if tickets and self.lease.acquire():
            events = [(topic, event, ticket["_id"].encode())
                      for ticket in tickets for topic, event in ticket_events(ticket)]
            send_all(self.producer, events)
            for ticket in tickets:
                self.db[TICKETS].update_one(
                    {"_id": ticket["_id"], "seq": ticket["seq"]},
                    {"$set": {"unpublished": False, "published_seq": ticket["seq"]}})
            done += len(tickets)
        alerts = list(self.db[ALERTS].find({"pending": True}).limit(self.batch))
        if alerts and self.lease.acquire():
            send_all(self.producer, [(SLA_ALERTS, alert_event(a), a["ticket_id"].encode())
                                     for a in alerts])
            self.db[ALERTS].update_many({"_id": {"$in": [a["_id"] for a in alerts]}},
                                        {"$set": {"pending": False,
                                                  "published_at": self.clock()}})
            done += len(alerts)
        return done

    def run(self, stop: threading.Event) -> None:
        """Runs until `stop`: a store or broker outage is waited out with the shared backoff
        (what was not acknowledged stays flagged and is sent again), never a reason to exit."""
        outage = Outage("tracker-publisher", logger=log)
        try:
            while not stop.is_set():
                try:
                    if self.producer is None:
                        ensure_topics(self.settings)
                        self.producer = make_producer(self.settings)
                    published = self.publish_once()
                except TRANSIENT as exc:
                    stop.wait(outage.failed(exc))
                    continue
                outage.recovered()
                if not published:
                    stop.wait(self.settings.publisher_idle_seconds)
        finally:
            try:
                self.lease.release()
            except PyMongoError:
                log.info("lease not released (store unavailable); it expires by itself")
            if self.producer is not None:
                self.producer.close(timeout=10)
