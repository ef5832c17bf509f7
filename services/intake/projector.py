"""Keeps the citizen-facing view of each report up to date from downstream events.

Consumes the classifier's verdicts and the tracker's status events: the category becomes
the Open311 service_code, the tracker's department (none until it routes the report) the
agency_responsible, public notes the
status_notes, the resolution deadline the expected_datetime, and the report counts as
confirmed downstream (the relay no longer needs to republish it). Updates are idempotent:
a status event applies only if its seq is higher than the last one applied.
"""

from __future__ import annotations

import logging
import threading
import uuid

from bson import ObjectId
from kafka.errors import KafkaError
from prometheus_client import Counter
from pymongo.database import Database

from services.intake.store import REPORTS
from shared.events import (
    ReportClassified,
    TicketStatusChangedV1,
    UndecodableEvent,
    decode_event,
)
from shared.kafka import ensure_topics, make_consumer, rewind_or_close
from shared.retry import TRANSIENT, Outage
from shared.settings import Settings
from shared.topics import REPORTS_CLASSIFIED, TICKETS_STATUS

log = logging.getLogger(__name__)
PROJECTED = Counter("intake_projected_events_total", "Downstream events applied to reports",
                    ["event_type"])
SKIPPED = Counter("intake_projector_skipped_total", "Downstream events that could not be read")


def apply_classified(*, db: Database, event: ReportClassified) -> bool:
    """The classifier's suggestion. A v1 event's department is not shown: the department
    comes from the tracker's status events, which apply the tracker's routing table."""
    if not ObjectId.is_valid(event.report_id):
        return False
    result = db[REPORTS].update_one(
        {"_id": ObjectId(event.report_id), "status": "received"},
        {"$set": {"status": "triage" if event.needs_triage else "classified",
                  "service_code": event.category,
                  "classification": {"confidence": event.confidence,
                                     "needs_triage": event.needs_triage,
                                     "urgent": event.urgent,
                                     "model_version": event.model_version},
                  "downstream_confirmed_at": event.occurred_at,
                  "updated_at": event.occurred_at}})
    return result.modified_count == 1


def apply_status(*, db: Database, event: TicketStatusChangedV1) -> bool:
    if not ObjectId.is_valid(event.report_id):
        return False
    update: dict = {"$set": {"status": event.to_state, "ticket_seq": event.seq,
                             "service_code": event.category,
                             "agency_responsible": event.department,
                             "expected_datetime": event.expected_resolution_at,
                             "downstream_confirmed_at": event.occurred_at,
                             "updated_at": event.occurred_at}}
    if event.duplicate_of:
        update["$set"]["duplicate_of"] = event.duplicate_of
    if event.rating is not None:
        update["$set"]["rating"] = event.rating
    if event.to_state == "resolved":
        update["$set"]["resolved_at"] = event.occurred_at
    if event.public_note:
        update["$push"] = {"public_notes": {"at": event.occurred_at, "text": event.public_note,
                                            "seq": event.seq}}
    result = db[REPORTS].update_one(
        {"_id": ObjectId(event.report_id),
         "$or": [{"ticket_seq": {"$lt": event.seq}}, {"ticket_seq": {"$exists": False}}]},
        update)
    return result.modified_count == 1


def project_records(*, db: Database, records: list) -> None:
    for record in records:
        try:
            event = decode_event(record.value)
        except UndecodableEvent:
            SKIPPED.inc()
            continue
        if isinstance(event, ReportClassified):
            apply_classified(db=db, event=event)
        elif isinstance(event, TicketStatusChangedV1):
            apply_status(db=db, event=event)
        else:
            SKIPPED.inc()
            continue
        PROJECTED.labels(event.event_type).inc()


def run_projector(settings: Settings, db: Database, stop: threading.Event,
                  group_id: str = "intake-projector") -> None:
    """Runs until `stop`: a store or broker outage is waited out (the batch is read again
    once it is back; updates are idempotent), never a reason to exit."""
    outage = Outage("intake-projector", logger=log)
    consumer = None
    try:
        while not stop.is_set():
            records: list = []
            try:
                if consumer is None:
                    ensure_topics(settings)
                    consumer = make_consumer(
                        settings, REPORTS_CLASSIFIED, TICKETS_STATUS, group_id=group_id,
                        client_id=f"intake-projector-{uuid.uuid4().hex[:6]}")
                polled = consumer.poll(timeout_ms=250, max_records=500)
                records = [r for batch in polled.values() for r in batch]
                project_records(db=db, records=records)
            except TRANSIENT as exc:
                consumer = rewind_or_close(consumer, records)
                stop.wait(outage.failed(exc))
                continue
            outage.recovered()
            if records:
                try:
                    consumer.commit()
                except KafkaError:
                    log.warning("offset commit failed; events will be applied again",
                                exc_info=True)
    finally:
        if consumer is not None:
            consumer.close(autocommit=False)
