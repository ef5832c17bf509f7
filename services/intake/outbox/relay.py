"""The outbox relay: publishes stored reports to Kafka, retrying until the broker acks.

A report is marked published only after the broker acknowledged it (acks=all), so a crash
or an outage can only cause a second publication, never a lost one; consumers dedupe by
report id. If the broker comes back without the report topic (the embedded broker keeps
topics in memory), recently published reports are queued again so none is stranded.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from bson import ObjectId
from kafka import KafkaProducer
from kafka.errors import KafkaError
from prometheus_client import Counter
from pymongo.database import Database
from pymongo.errors import PyMongoError

from services.intake.store import OUTBOX_PENDING, REPORTS
from shared.clock import Clock
from shared.events import Location, ReportSubmittedV1, encode_event
from shared.kafka import ensure_topics, make_producer
from shared.redact import redact_contacts
from shared.settings import Settings
from shared.topics import REPORTS_SUBMITTED

log = logging.getLogger(__name__)

PUBLISHED = Counter("intake_outbox_published_total", "Reports published to Kafka")
FAILURES = Counter("intake_outbox_failures_total", "Relay rounds that failed", ["reason"])
REQUEUED = Counter("intake_outbox_requeued_total",
                   "Reports queued again because the broker lost its topics")

_PROJECTION = {"pii": 0, "request_fingerprint": 0, "public_notes": 0}


class PartialPublish(Exception):
    """Some messages of a batch were not acknowledged."""


def to_event(doc: dict[str, Any]) -> ReportSubmittedV1:
    location = doc.get("location")
    return ReportSubmittedV1(
        event_id=f"{doc['_id']}:submitted",
        occurred_at=doc["submitted_at"],
        report_id=str(doc["_id"]),
        tracking_code=doc["tracking_code"],
        channel=doc["channel"],
        description=redact_contacts(doc["description"]),
        category_hint=doc.get("category_hint"),
        district=doc.get("district"),
        address=doc.get("address"),
        location=Location(**location) if location else None,
        photo_count=len(doc.get("photo_ids") or []),
        has_contact=bool(doc.get("has_contact")),
        submitted_at=doc["submitted_at"],
    )


def publish_pending(*, db: Database, producer: KafkaProducer, clock: Clock,
                    batch_size: int, timeout_s: float = 15.0) -> int:
    """Publish one batch of pending reports; return how many were acknowledged."""
    docs = list(db[REPORTS].find({OUTBOX_PENDING: True}, _PROJECTION)
                .sort("_id", 1).limit(batch_size))
    if not docs:
        return 0
    sent = [(doc["_id"], producer.send(REPORTS_SUBMITTED, key=str(doc["_id"]).encode(),
                                       value=encode_event(to_event(doc)))) for doc in docs]
    producer.flush(timeout=timeout_s)
    acked: list[ObjectId] = []
    failed = 0
    for report_id, future in sent:
        try:
            future.get(timeout=0.1)
            acked.append(report_id)
        except KafkaError:
            failed += 1
    if acked:
        db[REPORTS].update_many({"_id": {"$in": acked}},
                                {"$unset": {OUTBOX_PENDING: ""},
                                 "$set": {"published_at": clock()}})
        PUBLISHED.inc(len(acked))
    if failed:
        raise PartialPublish(f"{failed} of {len(sent)} not acknowledged")
    return len(acked)


def requeue_recent(*, db: Database, clock: Clock, window: timedelta) -> int:
    """Queue again what was published within the window but not yet confirmed downstream."""
    result = db[REPORTS].update_many(
        {"published_at": {"$gte": clock() - window}, "downstream_confirmed_at": None,
         OUTBOX_PENDING: {"$exists": False}},
        {"$set": {OUTBOX_PENDING: True}},
    )
    if result.modified_count:
        REQUEUED.inc(result.modified_count)
    return result.modified_count


def pending_count(db: Database) -> int:
    return db[REPORTS].count_documents({OUTBOX_PENDING: True})


class OutboxRelay:
    def __init__(self, *, settings: Settings, db: Database, clock: Clock,
                 max_backoff_s: float = 5.0) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.max_backoff_s = max_backoff_s
        self._producer: KafkaProducer | None = None

    def _connect(self) -> KafkaProducer:
        created = ensure_topics(self.settings)
        if REPORTS_SUBMITTED in created:
            n = requeue_recent(db=self.db, clock=self.clock,
                               window=timedelta(hours=self.settings.replay_window_hours))
            if n:
                log.warning("report topic was missing: %d recent reports queued again", n)
        return make_producer(self.settings)

    def run_once(self) -> int:
        if self._producer is None:
            self._producer = self._connect()
        return publish_pending(db=self.db, producer=self._producer, clock=self.clock,
                               batch_size=self.settings.relay_batch_size)

    def run(self, stop: threading.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                published = self.run_once()
                backoff = 0.2
                if published == 0:
                    stop.wait(self.settings.relay_idle_seconds)
            except (KafkaError, PartialPublish, PyMongoError, OSError) as exc:
                reason = type(exc).__name__
                FAILURES.labels(reason).inc()
                log.warning("relay round failed (%s); retrying in %.1fs", reason, backoff)
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
        self.close()

    def close(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=5)
            except Exception:  # noqa: BLE001 - closing a broken producer must not raise
                log.debug("producer close failed", exc_info=True)
            self._producer = None
