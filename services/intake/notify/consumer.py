"""Fills the notification outbox from `tickets.status.v1`, on the shared consumer loop.

The handler (pure) keeps the events that can call for a message: a move to a state the
citizen is told about, and the ticket's creation (seq 1, which queues the "received" message
again in case intake stopped between storing the report and queuing it). The side-effect step
loads those reports that have the citizen's consent, plans the rows (`plan_status`, pure) and
inserts them; a row's key (report, seq, channel) makes a replayed batch insert nothing. The
loop commits the offsets only after that."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from prometheus_client import Counter
from pymongo.database import Database

from services.intake.notify.messages import STATE_KINDS
from services.intake.notify.outbox import enqueue
from services.intake.notify.plan import plan_status
from services.intake.store import REPORTS
from shared.clock import Clock
from shared.consumer import Batch, ConsumerSpec, Output, run_consumer
from shared.events import TicketStatusChangedV1
from shared.settings import Settings
from shared.topics import TICKETS_STATUS, TICKETS_STATUS_DLQ

GROUP = "intake-notifier"
# where the shared loop sets aside what it cannot read (intake's ACL allows writing there)
DEAD_LETTERS = TICKETS_STATUS_DLQ
QUEUED = Counter("intake_notifications_queued_total",
                 "Notifications put in the outbox from status events")


def wants_message(event: TicketStatusChangedV1) -> bool:
    return event.seq == 1 or (event.to_state in STATE_KINDS
                              and event.from_state != event.to_state)


def handle(batch: Batch) -> Sequence[Output[TicketStatusChangedV1]]:
    outputs: list[Output[TicketStatusChangedV1]] = []
    for message in batch.messages:
        event = message.event
        if not isinstance(event, TicketStatusChangedV1) or not ObjectId.is_valid(
                event.report_id):
            outputs.append(Output.rejected("not a status event of a known report"))
        elif wants_message(event):
            outputs.append(Output(write=event))
        else:
            outputs.append(Output())
    return outputs


def queue_for_events(*, db: Database, events: list[TicketStatusChangedV1],
                     now: datetime) -> int:
    """Plan and store the notifications of a batch; returns how many rows were new."""
    ids = list({ObjectId(e.report_id) for e in events if ObjectId.is_valid(e.report_id)})
    if not ids:
        return 0
    reports: dict[str, dict[str, Any]] = {
        str(doc["_id"]): doc for doc in db[REPORTS].find(
            {"_id": {"$in": ids}, "notify.consent": True},
            {"notify": 1, "tracking_code": 1})}
    new = enqueue(db, plan_status([e for e in events if wants_message(e)], reports, now=now))
    if new:
        QUEUED.inc(new)
    return new


def spec(db: Database) -> ConsumerSpec[TicketStatusChangedV1]:
    def apply(events: list[TicketStatusChangedV1], now: datetime) -> None:
        queue_for_events(db=db, events=events, now=now)

    return ConsumerSpec(name="intake-notifier", group_id=GROUP,
                        reads={TICKETS_STATUS: (TicketStatusChangedV1,)},
                        handler=handle, apply=apply)


def run(settings: Settings, db: Database, stop: threading.Event, *, clock: Clock) -> None:
    run_consumer(spec(db), stop, settings=settings, clock=clock)
