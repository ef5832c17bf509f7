"""The intake projector on the shared loop, on the embedded broker and store: an undecodable
message goes to its topic's dead-letter topic and the events after it are applied. (Its store
outage: tests/resilience/test_loops_survive.py.)"""

from __future__ import annotations

import uuid
from functools import partial

from bson import ObjectId

from services.intake.app import create_app
from services.intake.projector import run_projector
from services.intake.store import REPORTS
from shared.events import encode_event
from shared.kafka import ensure_topics, make_producer
from shared.topics import TICKETS_STATUS, TICKETS_STATUS_DLQ
from tests.consumer.conftest import Lane
from tests.helpers import group_at_end, running, wait_until
from tests.intake.conftest import valid_report
from tests.intake.test_ticket_status import status_event


def test_projector_sets_an_undecodable_message_aside_and_applies_the_rest(settings, db):
    client = create_app(settings).test_client()
    created = client.post("/api/v1/reports", json=valid_report()).get_json()
    rid, code = created["report_id"], created["tracking_code"]
    marker = uuid.uuid4().hex.encode()
    ensure_topics(settings)
    group = group_at_end(settings.kafka_bootstrap, TICKETS_STATUS, prefix="projector")
    producer = make_producer(settings)
    producer.send(TICKETS_STATUS, key=rid.encode(), value=b"\xff" + marker)
    producer.send(TICKETS_STATUS, key=rid.encode(),
                  value=encode_event(status_event(rid, code, 1, "assigned")))
    producer.flush()
    producer.close()
    with running(partial(run_projector, settings, db, group_id=group)):
        assert wait_until(lambda: (db[REPORTS].find_one({"_id": ObjectId(rid)}) or {})
                          .get("status") == "assigned", 60, 0.3)
    lane = Lane(settings.kafka_bootstrap, TICKETS_STATUS, "")
    dead = lane.read(TICKETS_STATUS_DLQ, 1, where=lambda r: r.value == b"\xff" + marker)
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert headers["group"] == group.encode() and b"not JSON" in headers["error"]
    assert headers["source"].startswith(TICKETS_STATUS.encode())
