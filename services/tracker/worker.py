"""The tracker's consumer: classified reports in, tickets out, on the shared consumer loop.

Creation is idempotent (the ticket's id is the report's), so a replayed event changes
nothing. An event that reads but can never become a ticket (a poison event: e.g.
`submitted_at` without a time zone) is rejected by the handler; one whose ticket the store
refuses is found by the loop, which stores the batch's events one by one; both go to
`reports.classified.v1.dlq` with the reason, so they never block the partition.
"""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import Counter
from pymongo.database import Database

from services.tracker.config import ConfigSource, TrackerConfig
from services.tracker.owners.service import auto_assign
from services.tracker.tickets.service import create_many
from shared.clock import Clock
from shared.consumer import Batch, ConsumerSpec, Output, run_consumer
from shared.events import ReportClassified
from shared.settings import Settings
from shared.topics import REPORTS_CLASSIFIED

CREATED = Counter("tracker_tickets_created_total", "Tickets created from classified reports",
                  ["route"])
REPLAYED = Counter("tracker_replayed_events_total", "Classified events that had a ticket")
GROUP = "tracker"


def poison_reason(event: ReportClassified) -> str | None:
    """The known ways an event that reads can never become a ticket. Anything else that
    fails is found by the loop, storing the batch's events one by one."""
    if event.submitted_at.utcoffset() is None:
        return "submitted_at has no time zone"
    if event.occurred_at.utcoffset() is None:
        return "occurred_at has no time zone"
    return None


def plan_tickets(batch: Batch) -> list[Output[ReportClassified]]:
    """The handler: each classified event becomes a ticket to store, unless it is poison."""
    outputs: list[Output[ReportClassified]] = []
    for message in batch.messages:
        event = message.event
        assert isinstance(event, ReportClassified)
        reason = poison_reason(event)
        outputs.append(Output.rejected(reason) if reason else Output(write=event))
    return outputs


def store_tickets(events: list[ReportClassified], now: Any, *, db: Database,
                  source: ConfigSource) -> None:
    config = source.current()
    results = create_many(db=db, config=config, events=events, now=now)
    for ticket, created in results:
        if created:
            CREATED.labels(ticket["state"]).inc()
        else:
            REPLAYED.inc()
    # round-robin on arrival where a department turned it on (owners.service)
    auto_assign(db=db, config=config, tickets_in=[t for t, created in results if created],
                now=now)


def tracker_consumer(*, db: Database, config: TrackerConfig | ConfigSource,
                     group_id: str = GROUP) -> ConsumerSpec[ReportClassified]:
    source = config if isinstance(config, ConfigSource) else ConfigSource.fixed(config)

    def apply(events: list[ReportClassified], now: Any) -> None:
        store_tickets(events, now, db=db, source=source)

    return ConsumerSpec(name="tracker-worker", group_id=group_id,
                        reads={REPORTS_CLASSIFIED: (ReportClassified,)},
                        handler=plan_tickets, apply=apply)


def run_worker(stop: threading.Event, *, settings: Settings, db: Database,
               config: TrackerConfig | ConfigSource, clock: Clock,
               group_id: str = GROUP) -> None:
    """Runs until `stop`: a store or broker outage is waited out with the shared backoff
    (the batch is read again once it is back), never a reason to exit."""
    run_consumer(tracker_consumer(db=db, config=config, group_id=group_id), stop,
                 settings=settings, clock=clock)
