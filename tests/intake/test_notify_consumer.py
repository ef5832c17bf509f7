"""The notifier's consumer of tickets.status.v1 on the shared loop, on the real broker: status
events fill the outbox, a replay adds nothing, and a lost "received" row is queued again
from the ticket's creation event."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid

from services.intake.notify import consumer, outbox
from shared.consumer import run_consumer
from shared.events import encode_event
from shared.kafka import make_producer
from shared.settings import Settings
from shared.topics import TICKETS_STATUS
from tests.intake.conftest import valid_report
from tests.intake.test_notify_email import status


def _send(bootstrap: str, events: list, junk: bool = False) -> None:
    producer = make_producer(Settings(kafka_bootstrap=bootstrap))
    for event in events:
        producer.send(TICKETS_STATUS, key=event.ticket_id.encode(), value=encode_event(event))
    if junk:
        producer.send(TICKETS_STATUS, key=b"junk", value=b"{not json")
    producer.flush()
    producer.close()


def _wait(db, count: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = db[outbox.NOTIFICATIONS].count_documents({})
        if n >= count:
            return n
        time.sleep(0.2)
    return db[outbox.NOTIFICATIONS].count_documents({})


def test_status_events_fill_the_outbox_once(client, db, settings, clock):
    body = valid_report(reporter={"email": "an@example.vn", "consent_to_notify": True})
    filed = client.post("/api/v1/reports", json=body).json
    rid, code = filed["report_id"], filed["tracking_code"]
    # intake stopped right after storing the report: the received row was never queued
    db[outbox.NOTIFICATIONS].delete_many({})
    events = [status(rid, code, 1, None, "new"),
              status(rid, code, 2, "new", "assigned", department="so_xay_dung"),
              status(rid, code, 3, "assigned", "in_progress"),
              status(rid, code, 4, "in_progress", "waiting_citizen", note="Xin gửi ảnh?"),
              status(rid, code, 5, "waiting_citizen", "in_progress"),
              status(rid, code, 6, "in_progress", "resolved", note="Đã sửa xong.")]
    stop = threading.Event()
    spec = dataclasses.replace(consumer.spec(db), group_id=f"notify-{uuid.uuid4().hex[:8]}")
    thread = threading.Thread(target=run_consumer, args=(spec, stop),
                              kwargs={"settings": settings, "clock": clock}, daemon=True)
    thread.start()
    try:
        _send(settings.kafka_bootstrap, events, junk=True)
        assert _wait(db, 4) == 4
        _send(settings.kafka_bootstrap, events)  # a replay: the publisher sent them again
        time.sleep(3)
    finally:
        stop.set()
        thread.join(30)
    rows = {r["_id"]: r for r in db[outbox.NOTIFICATIONS].find()}
    assert sorted((r["seq"], r["kind"]) for r in rows.values()) == [
        (0, "received"), (2, "assigned"), (4, "waiting_citizen"), (6, "resolved")]
    assert rows[f"{rid}:4:email"]["note"] == "Xin gửi ảnh?"


def test_dead_letters_go_where_the_acl_allows():
    from shared.consumer import dead_letter_topic

    assert dead_letter_topic(TICKETS_STATUS) == consumer.DEAD_LETTERS
