"""Keeps the citizen-facing view of each report up to date from downstream events.

Consumes the classifier's verdicts and the tracker's status events: the category becomes
the Open311 service_code, the tracker's department (none until it routes the report) the
agency_responsible, public notes the
status_notes, the resolution deadline the expected_datetime, and the report counts as
confirmed downstream (the relay no longer needs to republish it). Updates are idempotent:
a status event applies only if its seq is higher than the last one applied. Runs on the shared
consumer loop: what cannot be read goes to `<topic>.dlq`; a store outage is waited out and the
batch applied again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymongo
from bson import ObjectId
from prometheus_client import Counter
from pymongo import UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database

from services.intake.store import REPORTS
from shared.consumer import Batch, ConsumerSpec, Output, run_consumer
from shared.events import Event, ReportClassified, TicketStatusChangedV1
from shared.settings import Settings
from shared.topics import REPORTS_CLASSIFIED, TICKETS_STATUS

log = logging.getLogger(__name__)
PROJECTED = Counter("intake_projected_events_total", "Downstream events applied to reports",
                    ["event_type"])
GROUP = "intake-projector"


# what a projection's condition reads of the stored report
CONDITION_FIELDS = {"status": 1, "ticket_seq": 1}
# a batch and its runs again after write conflicts end within this many of the client's
# operation timeouts (pymongo's with_transaction alone would retry for up to 120 s)
TRANSACTION_TIMEOUTS = 5


@dataclass(frozen=True)
class Projection:
    """One event's change to its report: the update, written by `_id` alone, applies only
    if `applies` holds for the report as stored (its CONDITION_FIELDS)."""
    report_id: ObjectId
    applies: Callable[[dict[str, Any]], bool]
    update: dict[str, Any]


def classified_update(event: ReportClassified) -> Projection | None:
    """The classifier's suggestion, shown only while the report is still `received`. A v1
    event's department is not shown: the department comes from the tracker's status
    events, which apply the tracker's routing table."""
    if not ObjectId.is_valid(event.report_id):
        return None
    return Projection(ObjectId(event.report_id), _still_received, {
        "$set": {"status": "triage" if event.needs_triage else "classified",
                 "service_code": event.category,
                 "classification": {"confidence": event.confidence,
                                    "needs_triage": event.needs_triage,
                                    "urgent": event.urgent,
                                    "model_version": event.model_version},
                 "downstream_confirmed_at": event.occurred_at,
                 "updated_at": event.occurred_at}})


def _still_received(stored: dict[str, Any]) -> bool:
    return stored.get("status") == "received"


def newer_than_shown(stored: dict[str, Any], seq: int) -> bool:
    """The report does not show this status or a later one yet (no `ticket_seq`, or a
    smaller one): what the filter `{ticket_seq: {$not: {$gte: seq}}}` matched."""
    shown = stored.get("ticket_seq")
    return not (isinstance(shown, int | float) and not isinstance(shown, bool)
                and shown >= seq)


def status_update(event: TicketStatusChangedV1) -> Projection | None:
    if not ObjectId.is_valid(event.report_id):
        return None
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
    seq = event.seq
    return Projection(ObjectId(event.report_id), lambda stored: newer_than_shown(stored, seq),
                      update)


def projection(event: Event) -> Projection | None:
    if isinstance(event, ReportClassified):
        return classified_update(event)
    if isinstance(event, TicketStatusChangedV1):
        return status_update(event)
    return None


def planned_writes(stored: dict[ObjectId, dict[str, Any]],
                   projections: list[Projection | None]) -> tuple[list[UpdateOne], list[bool]]:
    """The writes (by `_id` alone, one per report) of the projections that apply, in order,
    to the reports as stored (their CONDITION_FIELDS by `_id`), each seeing the ones before
    it; and whether each projection applied. A report's projections that apply are merged
    into one update, as applying them one after the other leaves it (later `$set`s win,
    notes pushed in order): a new ticket's two status events and the classifier's verdict
    usually come in one batch. `stored` is updated as the writes will leave it."""
    merged: dict[ObjectId, dict[str, Any]] = {}
    applied: list[bool] = []
    for p in projections:
        doc = None if p is None else stored.get(p.report_id)
        if p is None or doc is None or not p.applies(doc):
            applied.append(False)
            continue
        update = merged.setdefault(p.report_id, {"$set": {}})
        update["$set"].update(p.update["$set"])
        for path, value in p.update.get("$push", {}).items():
            update.setdefault("$push", {}).setdefault(path, {"$each": []})["$each"].append(
                value)
        doc.update({k: v for k, v in p.update["$set"].items() if k in CONDITION_FIELDS})
        applied.append(True)
    return [UpdateOne({"_id": rid}, update) for rid, update in merged.items()], applied


def apply_projections(db: Database, projections: list[Projection | None]) -> list[bool]:
    """Apply the projections in order, in one transaction: the batch's reports read by
    `_id` in one query, the conditions checked on that read and the updates written by
    `_id` alone. A write by another writer after the read makes the write by `_id` a write
    conflict: the transaction runs again and reads what it wrote. (The embedded store plans
    a filter of several fields against every index of the reports: the same batch as
    conditional updates cost it 1.35 times the CPU, 2.4 times with three events a report,
    `python -m bench.store_filters`; a batch of one event costs it more this way, 1.9 ms
    against 1.2.)"""
    ids = list(dict.fromkeys(p.report_id for p in projections if p is not None))
    if not ids:
        return [False] * len(projections)
    result: list[bool] = []

    def run(session: ClientSession) -> None:
        stored = {d["_id"]: d for d in db[REPORTS].find(
            {"_id": {"$in": ids}}, CONDITION_FIELDS, session=session)}
        writes, applied = planned_writes(stored, projections)
        if writes:
            db[REPORTS].bulk_write(writes, ordered=True, session=session)
        result[:] = applied

    budget = (db.client.options.timeout or 3.0) * TRANSACTION_TIMEOUTS
    with pymongo.timeout(budget), db.client.start_session() as session:
        session.with_transaction(run)
    return result


def apply_classified(*, db: Database, event: ReportClassified) -> bool:
    return apply_projections(db, [classified_update(event)])[0]


def apply_status(*, db: Database, event: TicketStatusChangedV1) -> bool:
    return apply_projections(db, [status_update(event)])[0]


def project(batch: Batch) -> list[Output[Event]]:
    """The handler: every event of the batch is applied as it is."""
    return [Output(write=message.event) for message in batch.messages]


def apply_events(events: list[Event], now: Any, *, db: Database) -> None:
    """The batch's events in one transaction (`apply_projections`): each update is
    conditional (a report's status applies only over an older one), so the batch's order
    and a replay of it give what one update at a time gives, at the embedded store's cost
    of one commit (one per update was a quarter of its time in the month's replay)."""
    apply_projections(db, [projection(event) for event in events])
    for event in events:
        PROJECTED.labels(event.event_type).inc()


def projector_consumer(*, db: Database, group_id: str = GROUP) -> ConsumerSpec[Event]:
    def apply(events: list[Event], now: Any) -> None:
        apply_events(events, now, db=db)

    return ConsumerSpec(name="intake-projector", group_id=group_id,
                        reads={REPORTS_CLASSIFIED: (ReportClassified,),
                               TICKETS_STATUS: (TicketStatusChangedV1,)},
                        handler=project, apply=apply)


def run_projector(settings: Settings, db: Database, stop: threading.Event,
                  group_id: str = GROUP) -> None:
    """Runs until `stop`: a store or broker outage is waited out (the batch is read again
    once it is back; updates are idempotent), never a reason to exit."""
    run_consumer(projector_consumer(db=db, group_id=group_id), stop, settings=settings)
