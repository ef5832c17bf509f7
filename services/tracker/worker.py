"""The tracker's consumer: classified reports in, tickets out.

Creation is idempotent (the ticket's id is the report's), so a replayed event changes
nothing. Offsets are committed after the batch's tickets are stored; an event that cannot be
read, or that reads but cannot become a ticket (a poison event: e.g. `submitted_at` without a
time zone), goes to the dead-letter topic first with its reason, so it never blocks the
partition. Only an unavailable store or broker makes the batch be read again. SIGTERM lets
the batch finish and commit.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from prometheus_client import Counter
from pymongo.database import Database

from services.tracker.config import ConfigSource, TrackerConfig
from services.tracker.owners.service import auto_assign
from services.tracker.tickets.service import create_many
from shared.clock import Clock
from shared.events import ReportClassifiedV1, UndecodableEvent, decode_event
from shared.kafka import ensure_topics, make_consumer, make_producer, rewind_or_close
from shared.retry import TRANSIENT, Outage
from shared.settings import Settings
from shared.topics import REPORTS_CLASSIFIED, REPORTS_CLASSIFIED_DLQ

log = logging.getLogger(__name__)
CREATED = Counter("tracker_tickets_created_total", "Tickets created from classified reports",
                  ["route"])
REPLAYED = Counter("tracker_replayed_events_total", "Classified events that had a ticket")
DEAD_LETTERS = Counter("tracker_dead_letters_total", "Events sent to the dead-letter topic")
GROUP = "tracker"


def handle_records(*, db: Database, config: TrackerConfig, records: list[Any], now: Any
                   ) -> list[tuple[Any, str]]:
    """Store a ticket per classified event; return the records that could not be read,
    with the reason."""
    dead: list[tuple[Any, str]] = []
    good: list[tuple[Any, ReportClassifiedV1]] = []
    for record in records:
        try:
            event = decode_event(record.value)
        except UndecodableEvent as exc:
            dead.append((record, str(exc)))
            continue
        if not isinstance(event, ReportClassifiedV1):
            dead.append((record, f"unexpected {event.event_type}"))
            continue
        reason = poison_reason(event)
        if reason:
            dead.append((record, reason))
            continue
        good.append((record, event))
    if not good:
        return dead
    try:
        _store(db=db, config=config, events=[e for _, e in good], now=now)
    except TRANSIENT:
        raise
    except Exception:  # noqa: BLE001 - one bad event must not hold the others back
        for record, event in good:  # find it: one write per event
            try:
                _store(db=db, config=config, events=[event], now=now)
            except TRANSIENT:
                raise
            except Exception as exc:  # noqa: BLE001
                log.warning("classified event %s cannot become a ticket", event.event_id,
                            exc_info=True)
                dead.append((record, f"cannot become a ticket: {exc!r}"[:500]))
    return dead


def poison_reason(event: ReportClassifiedV1) -> str | None:
    """The known ways an event that reads can never become a ticket. Anything else that
    fails is found by storing the batch's events one by one (handle_records)."""
    if event.submitted_at.utcoffset() is None:
        return "submitted_at has no time zone"
    if event.occurred_at.utcoffset() is None:
        return "occurred_at has no time zone"
    return None


def _store(*, db: Database, config: TrackerConfig, events: list[ReportClassifiedV1],
           now: Any) -> None:
    results = create_many(db=db, config=config, events=events, now=now)
    _count(results)
    # round-robin on arrival where a department turned it on (owners.service)
    auto_assign(db=db, config=config, tickets_in=[t for t, created in results if created],
                now=now)


def _count(results: list[tuple[dict[str, Any], bool]]) -> None:
    for ticket, created in results:
        if created:
            CREATED.labels(ticket["state"]).inc()
        else:
            REPLAYED.inc()


def send_dead_letters(producer: KafkaProducer, dead: list[tuple[Any, str]]) -> None:
    futures = [producer.send(REPORTS_CLASSIFIED_DLQ, key=record.key, value=record.value or b"",
                             headers=[("error", reason.encode()[:500]),
                                      ("source", f"{record.topic}:{record.partition}:"
                                                 f"{record.offset}".encode())])
               for record, reason in dead]
    producer.flush(timeout=15)
    for future in futures:
        future.get(timeout=0.1)
    DEAD_LETTERS.inc(len(dead))


def run_worker(stop: threading.Event, *, settings: Settings, db: Database,
               config: TrackerConfig | ConfigSource, clock: Clock,
               group_id: str = GROUP) -> None:
    """Runs until `stop`: a store or broker outage is waited out with the shared backoff
    (the batch is read again once it is back), never a reason to exit."""
    source = config if isinstance(config, ConfigSource) else ConfigSource.fixed(config)
    outage = Outage("tracker-worker", logger=log)
    consumer: KafkaConsumer | None = None
    producer: KafkaProducer | None = None
    try:
        while not stop.is_set():
            records: list[Any] = []
            try:
                if consumer is None or producer is None:
                    ensure_topics(settings)
                    consumer = make_consumer(settings, REPORTS_CLASSIFIED, group_id=group_id,
                                             client_id=f"tracker-{uuid.uuid4().hex[:6]}")
                    producer = make_producer(settings)
                polled = consumer.poll(timeout_ms=250, max_records=500)
                records = [r for batch in polled.values() for r in batch]
                if records:
                    dead = handle_records(db=db, config=source.current(), records=records,
                                          now=clock())
                    if dead:
                        send_dead_letters(producer, dead)
                    consumer.commit()
            except TRANSIENT as exc:
                consumer = rewind_or_close(consumer, records)
                stop.wait(outage.failed(exc))
                continue
            outage.recovered()
    finally:
        if consumer is not None:
            consumer.close(autocommit=False)
        if producer is not None:
            producer.close(timeout=10)
