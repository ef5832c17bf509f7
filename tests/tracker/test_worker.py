"""The tracker's consumer on the embedded broker: tickets from events, replays ignored,
poison to the dead-letter topic, and the batch read again when the store was unreachable."""

from __future__ import annotations

import time
import uuid
from functools import partial

from services.tracker.store import TICKETS
from services.tracker.worker import run_worker
from shared.clock import system_clock
from shared.events import encode_event
from shared.kafka import make_consumer, make_producer
from shared.settings import Settings
from shared.topics import REPORTS_CLASSIFIED, REPORTS_CLASSIFIED_DLQ
from tests.helpers import running, wait_until
from tests.tracker.conftest import classified


def dead_letter(bootstrap: str, key: bytes, timeout: float = 30.0):
    consumer = make_consumer(Settings(kafka_bootstrap=bootstrap), REPORTS_CLASSIFIED_DLQ,
                             group_id=f"dlq-{uuid.uuid4().hex[:6]}")
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    if record.key == key:
                        return record
    finally:
        consumer.close()
    return None


def test_worker_creates_tickets_once_and_sends_poison_to_dead_letters(settings, tdb, config):
    events = [classified(at=system_clock(), category=c) for c in ("noise", "water_supply")]
    poison_key = uuid.uuid4().hex
    producer = make_producer(settings)
    for event in [*events, events[0]]:  # the first one twice: a replay
        producer.send(REPORTS_CLASSIFIED, key=event.report_id.encode(),
                      value=encode_event(event))
    producer.send(REPORTS_CLASSIFIED, key=poison_key.encode(), value=b'{"event_type": 1')
    producer.flush()
    producer.close()
    worker = partial(run_worker, settings=settings, db=tdb, config=config, clock=system_clock,
                     group_id=f"tracker-{uuid.uuid4().hex[:6]}")
    ids = {e.report_id for e in events}
    with running(worker):
        assert wait_until(lambda: tdb[TICKETS].count_documents({"_id": {"$in": list(ids)}})
                          == 2, 60, 0.2)
        dead = dead_letter(settings.kafka_bootstrap, poison_key.encode())
    assert dead is not None, "the poison message never reached the dead-letter topic"
    assert dead.value == b'{"event_type": 1'
    headers = dict(dead.headers)
    assert b"not JSON" in headers["error"] and headers["source"].startswith(b"reports.")
    stored = {t["_id"]: t for t in tdb[TICKETS].find({"_id": {"$in": list(ids)}})}
    assert stored[events[0].report_id]["department"] == "ubnd_q3"
    assert stored[events[1].report_id]["department"] == "cap_nuoc"
    assert all(t["seq"] == 2 for t in stored.values())


def test_a_batch_that_failed_on_the_store_is_read_again(settings, tdb, config, monkeypatch):
    from pymongo.errors import AutoReconnect

    import services.tracker.worker as worker_module

    real = worker_module.create_many
    failures = []

    def flaky(**kwargs):
        if not failures:
            failures.append(1)
            raise AutoReconnect("store restarting")
        return real(**kwargs)

    monkeypatch.setattr(worker_module, "create_many", flaky)
    event = classified(at=system_clock(), category="health")
    producer = make_producer(settings)
    producer.send(REPORTS_CLASSIFIED, key=event.report_id.encode(), value=encode_event(event))
    producer.flush()
    producer.close()
    worker = partial(run_worker, settings=settings, db=tdb, config=config, clock=system_clock,
                     group_id=f"tracker-{uuid.uuid4().hex[:6]}")
    with running(worker):
        assert wait_until(lambda: tdb[TICKETS].count_documents({"_id": event.report_id}) == 1,
                          60, 0.2)
    assert failures == [1]
