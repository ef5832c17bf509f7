"""The long-running loops wait out a store outage and resume by themselves; the relay gives a
broker that forgot its messages every report not confirmed downstream."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from bson import ObjectId

from services.intake.outbox.relay import OutboxRelay
from services.intake.projector import run_projector
from services.intake.store import OUTBOX_STATE, REPORTS
from shared.clock import system_clock
from shared.events import encode_event
from shared.kafka import ensure_topics, make_producer
from shared.mongo import connect, database
from shared.settings import Settings
from shared.topics import REPORTS_SUBMITTED, TICKETS_STATUS
from tests.helpers import collect, intake_app, running, wait_until
from tests.intake.conftest import valid_report
from tests.intake.test_ticket_status import status_event


def test_projector_waits_out_a_killed_store_and_applies_what_came_meanwhile(
        own_env, own_store):
    settings = Settings.from_env(own_env)
    created = intake_app(settings).test_client().post(
        "/api/v1/reports", json=valid_report()).get_json()
    rid, code = created["report_id"], created["tracking_code"]
    db = database(connect(settings), settings)
    ensure_topics(settings)
    loop = lambda stop: run_projector(settings, db, stop,  # noqa: E731
                                      group_id=f"projector-{uuid.uuid4().hex[:6]}")
    with running(loop) as (thread,):
        own_store.kill()
        producer = make_producer(settings)
        producer.send(TICKETS_STATUS, key=rid.encode(),
                      value=encode_event(status_event(rid, code, 1, "assigned")))
        producer.flush(10)
        producer.close()
        threading.Event().wait(4)
        assert thread.is_alive(), "the projector exited on a store error"
        own_store.start()
        own_store.wait_ready()
        assert wait_until(
            lambda: (db[REPORTS].find_one({"_id": ObjectId(rid)}) or {}).get("status")
            == "assigned", 40, 0.3)
        assert thread.is_alive()


def test_relay_republishes_unconfirmed_reports_even_when_the_topic_exists(env, db):
    settings = Settings.from_env({**env, "RELAY_GRACE_SECONDS": "2"})
    client = intake_app(settings).test_client()
    ids = [client.post("/api/v1/reports", json=valid_report()).get_json()["report_id"]
           for _ in range(3)]
    # as if published long ago to a broker that has since lost its memory: the relay's
    # saved position is past them and the topic exists
    old = system_clock() - timedelta(minutes=5)
    for i, rid in enumerate(ids):
        doc = db[REPORTS].find_one_and_delete({"_id": ObjectId(rid)})
        doc["_id"] = ObjectId.from_datetime(old + timedelta(seconds=i))
        doc["_id"] = ObjectId(doc["_id"].binary[:4] + ObjectId().binary[4:])
        if i == 2:
            doc["downstream_confirmed_at"] = old
        db[REPORTS].insert_one(doc)
    stranded = {str(d["_id"]) for d in db[REPORTS].find({"downstream_confirmed_at": None})}
    newest = max(d["_id"] for d in db[REPORTS].find())
    ensure_topics(settings)
    db[OUTBOX_STATE].insert_one({"_id": "reports", "last_id": newest})
    relay = OutboxRelay(settings=settings, db=db, clock=system_clock, max_backoff_s=1.0)
    with running(relay.run):
        events = collect(settings.kafka_bootstrap, REPORTS_SUBMITTED, until=stranded,
                         timeout=30)
    published = {e["report_id"] for e in events}
    assert stranded <= published and len(stranded) == 2
    confirmed = str(db[REPORTS].find_one({"downstream_confirmed_at": {"$ne": None}})["_id"])
    assert confirmed not in published
