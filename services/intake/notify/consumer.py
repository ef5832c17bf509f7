"""Fills the notification outbox from `tickets.status.v1`.

`plan_status` (plan.py) is the pure handler: a batch of events and their reports in, outbox
rows out. The loop below is deliberately thin: it reads a batch, loads the reports, inserts
the rows (their key makes a replay a no-op) and only then commits the offsets.
TODO(issue 17): move onto the shared consumer loop (branch i17a) once it lands; it brings the
dead-letter topic and the clean SIGTERM commit this loop does by hand."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from bson import ObjectId
from kafka.errors import KafkaError
from prometheus_client import Counter
from pymongo.database import Database

from services.intake.notify.outbox import enqueue
from services.intake.notify.plan import plan_status
from services.intake.store import REPORTS
from shared.clock import Clock
from shared.events import TicketStatusChangedV1, UndecodableEvent, decode_event
from shared.kafka import ensure_topics, make_consumer, rewind_or_close
from shared.retry import TRANSIENT, Outage
from shared.settings import Settings
from shared.topics import TICKETS_STATUS

log = logging.getLogger(__name__)
GROUP = "intake-notifier"
QUEUED = Counter("intake_notifications_queued_total",
                 "Notifications put in the outbox from status events")
UNREADABLE = Counter("intake_notifier_skipped_total", "Status events that could not be read")


def decode_batch(values: list[bytes | None]) -> list[TicketStatusChangedV1]:
    events = []
    for value in values:
        try:
            event = decode_event(value)
        except UndecodableEvent:
            UNREADABLE.inc()
            continue
        if isinstance(event, TicketStatusChangedV1):
            events.append(event)
    return events


def queue_for_events(*, db: Database, events: list[TicketStatusChangedV1], clock: Clock) -> int:
    """Plan and store the notifications of a batch; returns how many rows were new."""
    ids = [ObjectId(e.report_id) for e in events if ObjectId.is_valid(e.report_id)]
    if not ids:
        return 0
    reports: dict[str, dict[str, Any]] = {
        str(doc["_id"]): doc for doc in db[REPORTS].find(
            {"_id": {"$in": ids}, "notify.consent": True},
            {"notify": 1, "tracking_code": 1})}
    rows = plan_status(events, reports, now=clock())
    new = enqueue(db, rows)
    if new:
        QUEUED.inc(new)
    return new


def run_consumer(settings: Settings, db: Database, stop: threading.Event, *, clock: Clock,
                 group_id: str = GROUP) -> None:
    outage = Outage("intake-notifier-consumer", logger=log)
    consumer = None
    try:
        while not stop.is_set():
            records: list = []
            try:
                if consumer is None:
                    ensure_topics(settings)
                    consumer = make_consumer(settings, TICKETS_STATUS, group_id=group_id,
                                             client_id=f"{group_id}-{uuid.uuid4().hex[:6]}")
                polled = consumer.poll(timeout_ms=250, max_records=500)
                records = [r for batch in polled.values() for r in batch]
                events = decode_batch([r.value for r in records])
                if events:
                    queue_for_events(db=db, events=events, clock=clock)
            except TRANSIENT as exc:
                consumer = rewind_or_close(consumer, records)
                stop.wait(outage.failed(exc))
                continue
            outage.recovered()
            if records:
                try:
                    consumer.commit()
                except KafkaError:
                    log.warning("offset commit failed; the batch will be planned again "
                                "(its rows exist already)", exc_info=True)
    finally:
        if consumer is not None:
            consumer.close(autocommit=False)
