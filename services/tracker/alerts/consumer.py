"""The alerts consumer on the shared consumer loop: `sla.alerts.v1` in (undecodable alerts to
`sla.alerts.v1.dlq`), one notification per person out. The handler is pure (each event becomes
a write, a repeat of an event_id in the batch none); the side-effect step reads the ticket's
owner, picks the recipients and inserts `event_id:user` notifications, so a replayed or
twice-consumed alert notifies nobody twice.

Migration step (issue 17, see `shared.topics.SLA_ALERTS_LEGACY`): during a rolling upgrade a
publisher of the release before still writes the unversioned `sla.alerts`; the consumer reads
it too, and an alert on both topics notifies once. Remove that read (and the topic) once the
old topic has received nothing for a whole retention period, not before 2027-01-06."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo.database import Database

from services.tracker.alerts import store
from services.tracker.alerts.recipients import directory_principals, recipients
from services.tracker.config import ConfigSource
from services.tracker.tickets import repository
from shared.consumer import Batch, ConsumerSpec, Output
from shared.events import SlaAlertV1
from shared.topics import SLA_ALERTS, SLA_ALERTS_LEGACY

GROUP = "tracker-alerts"


def handle(batch: Batch) -> list[Output[SlaAlertV1]]:
    seen: set[str] = set()
    outputs: list[Output[SlaAlertV1]] = []
    for m in batch.messages:
        repeat = m.event.event_id in seen
        seen.add(m.event.event_id)
        outputs.append(Output() if repeat else Output(write=m.event))  # type: ignore[arg-type]
    return outputs


def notifications_for(event: SlaAlertV1, *, users: list[str],
                      prefs: dict[str, dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    return [{"_id": f"{event.event_id}:{user}", "user": user, "event_id": event.event_id,
             "ticket_id": event.ticket_id, "tracking_code": event.tracking_code,
             "department": event.department, "category": event.category,
             "urgent": event.urgent, "clock": event.clock, "level": event.level,
             "due_at": event.due_at, "reached_at": event.reached_at, "created_at": now,
             "read_at": None, "email_state": store.email_state(prefs.get(user)),
             "email_attempts": 0}
            for user in users]


def make_apply(db: Database, source: ConfigSource
               ) -> Callable[[list[SlaAlertV1], datetime], None]:
    def apply(events: list[SlaAlertV1], now: datetime) -> None:
        owners = repository.assignees(db, (e.ticket_id for e in events))
        staff = directory_principals(source.current().staff)
        planned = [(e, recipients(e, assignee=owners.get(e.ticket_id), staff=staff))
                   for e in events]
        prefs = store.preferences(db, sorted({u for _, users in planned for u in users}))
        store.insert_notifications(db, [doc for e, users in planned
                                        for doc in notifications_for(e, users=users,
                                                                     prefs=prefs, now=now)])
    return apply


def spec(db: Database, source: ConfigSource, *, group_id: str = GROUP
         ) -> ConsumerSpec[SlaAlertV1]:
    return ConsumerSpec(name="tracker-alerts", group_id=group_id,
                        reads={SLA_ALERTS: (SlaAlertV1,),
                               SLA_ALERTS_LEGACY: (SlaAlertV1,)},  # migration step
                        handler=handle,
                        apply=make_apply(db, source))
