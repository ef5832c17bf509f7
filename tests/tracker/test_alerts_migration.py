"""Migration step of issue 17: the tracker's alerts consumer reads the versioned topic
`sla.alerts.v1` and, while publishers of the release before still write it, the unversioned
`sla.alerts`; an alert seen on both notifies each person once (by event_id)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from services.tracker.alerts import store
from services.tracker.alerts.consumer import handle, spec
from services.tracker.config import ConfigSource
from shared.consumer import Batch, Consumer
from shared.consumer.messages import Message
from shared.events import SlaAlertV1, encode_event
from shared.kafka import Outgoing, ensure_topics, make_producer, send_and_wait
from shared.topics import SLA_ALERTS, SLA_ALERTS_LEGACY
from tests.helpers import group_at_end, running, wait_until

AT = datetime(2026, 12, 1, tzinfo=UTC)


def _alert(ticket: str, level: str = "breach") -> SlaAlertV1:
    return SlaAlertV1(event_id=f"{ticket}:resolution:{level}", occurred_at=AT,
                      ticket_id=ticket, tracking_code=f"HCM-2026-{ticket[-6:]}",
                      department="so_xay_dung", category="traffic", urgent=False,
                      clock="resolution", level=level, due_at=AT, reached_at=AT)


def _message(topic: str, offset: int, event: SlaAlertV1) -> Message:
    return Message(topic, 0, offset, event.ticket_id.encode(), encode_event(event), event)


def test_the_handler_writes_an_event_seen_on_both_topics_once():
    one, two = _alert("t00000000001"), _alert("t00000000002")
    outputs = handle(Batch([_message(SLA_ALERTS_LEGACY, 0, one), _message(SLA_ALERTS, 0, one),
                            _message(SLA_ALERTS, 1, two)], AT))
    assert [o.write.event_id if o.write else None for o in outputs] == \
        [one.event_id, None, two.event_id]


def test_the_consumer_reads_the_legacy_topic_and_notifies_once(settings, tdb, config, clock):
    ensure_topics(settings)
    group = group_at_end(settings.kafka_bootstrap, SLA_ALERTS, SLA_ALERTS_LEGACY,
                         prefix="alerts-migration")
    both, legacy_only = _alert("t00000000011"), _alert("t00000000012")
    producer = make_producer(settings)
    try:
        send_and_wait(producer, [
            Outgoing(SLA_ALERTS_LEGACY, b"t11", encode_event(both)),
            Outgoing(SLA_ALERTS, b"t11", encode_event(both)),
            Outgoing(SLA_ALERTS_LEGACY, b"t12", encode_event(legacy_only))])
    finally:
        producer.close()
    source = ConfigSource.fixed(config)

    def consume(stop: threading.Event) -> None:
        Consumer(spec(tdb, source, group_id=group), settings=settings, clock=clock).run(stop)

    def notified() -> list[tuple[str, str]]:
        # only this test's alerts: the session's broker may still carry an earlier test's
        return sorted((n["event_id"], n["user"]) for n in tdb[store.NOTIFICATIONS].find(
            {"event_id": {"$in": [both.event_id, legacy_only.event_id]}}))

    with running(consume):
        assert wait_until(lambda: {e for e, _ in notified()} ==
                          {both.event_id, legacy_only.event_id}, 30)
        time.sleep(2.0)  # the repeat, if any, has been read by now
    users = [u for e, u in notified() if e == both.event_id]
    assert users and len(users) == len(set(users))  # the breach's supervisors, once each
    assert len(notified()) == 2 * len(users)
