"""The outbox: stored before the 201, published by the relay, nothing lost in an outage."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from services.intake.app import create_app
from services.intake.outbox.relay import OutboxRelay, backlog
from shared.clock import system_clock
from shared.events import ReportSubmittedV1, decode_event
from shared.settings import Settings
from shared.topics import REPORTS_SUBMITTED
from tests.helpers import collect, live_server, running, wait_until
from tests.intake.conftest import valid_report


def relay_for(settings: Settings, db) -> OutboxRelay:
    return OutboxRelay(settings=settings, db=db, clock=system_clock, max_backoff_s=1.0)


def publish_all(settings: Settings, db, ids: set[str]) -> list[dict]:
    """Run a relay until the outbox is empty; return what reached the report topic."""
    with running(relay_for(settings, db).run):
        assert wait_until(lambda: backlog(db) == 0, 20)
        return collect(settings.kafka_bootstrap, REPORTS_SUBMITTED, until=ids)


def test_relay_publishes_versioned_events(client, db, settings):
    ids = {client.post("/api/v1/reports", json=valid_report()).get_json()["report_id"]
           for _ in range(5)}
    assert backlog(db) == 5
    events = publish_all(settings, db, ids)
    assert {e["report_id"] for e in events} == ids
    decoded = decode_event(events[0]["_raw"])
    assert isinstance(decoded, ReportSubmittedV1) and decoded.schema_version == 1
    assert decoded.has_contact is True
    state = db["outbox_state"].find_one({"_id": "reports"})
    assert str(state["last_id"]) == max(ids) and state["resume_token"]


@pytest.mark.slow
def test_burst_of_500_with_broker_down_30s(env, db, own_broker, tmp_path):
    env = {**env, "KAFKA_BOOTSTRAP": own_broker.bootstrap}
    settings = Settings.from_env(env)
    app = create_app(settings)
    report_ids: list[str] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def post(i: int, base: str) -> None:
        resp = requests.post(f"{base}/api/v1/reports", json=valid_report(
            description=f"Phản ánh số {i}: rác chất đống ở đầu hẻm nhiều ngày chưa thu gom."),
            timeout=30)
        with lock:
            statuses.append(resp.status_code)
            if resp.status_code == 201:
                report_ids.append(resp.json()["report_id"])

    with running(relay_for(settings, db).run):
        with live_server(app) as base, ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda i: post(i, base), range(250)))
            own_broker.stop()
            outage_started = time.monotonic()
            list(pool.map(lambda i: post(i, base), range(250, 500)))
            assert statuses.count(201) == 500, "intake must keep accepting with the broker down"
            assert backlog(db) > 0
            time.sleep(max(0.0, 30 - (time.monotonic() - outage_started)))
            own_broker.start()
            own_broker.wait_ready()
            assert wait_until(lambda: backlog(db) == 0, 90, 0.5), backlog(db)
        events = collect(settings.kafka_bootstrap, REPORTS_SUBMITTED, until=set(report_ids),
                         timeout=90)

    processed: dict[str, int] = {}
    for event in events:  # a consumer that dedups by report id
        processed.setdefault(event["report_id"], 0)
        processed[event["report_id"]] += 1
    assert set(processed) == set(report_ids) and len(report_ids) == 500
    assert len(events) >= 500
