"""The worker on the embedded stack: fast, dead letters for poison, nothing lost on a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from services.intake.outbox.relay import OutboxRelay
from shared.clock import system_clock
from shared.events import ReportSubmittedV1, encode_event
from shared.kafka import make_consumer, make_producer
from shared.topics import REPORTS_CLASSIFIED, REPORTS_SUBMITTED, REPORTS_SUBMITTED_DLQ
from tests.classifier.conftest import new_worker
from tests.helpers import collect, intake_app, running, wait_until

REPO = Path(__file__).resolve().parents[2]


def submitted(text: str) -> ReportSubmittedV1:
    now = datetime.now(UTC)
    rid = uuid.uuid4().hex[:24]
    return ReportSubmittedV1(event_id=f"{rid}:submitted", occurred_at=now, report_id=rid,
                             tracking_code=f"HCM-2026-{rid[:6]}", channel="web",
                             description=text, submitted_at=now)


def test_posted_report_comes_out_classified_within_5s(settings, db, classifier):
    client = intake_app(settings).test_client()
    relay = OutboxRelay(settings=settings, db=db, clock=system_clock)
    with running(new_worker(settings, classifier, db).run, relay.run):
        warm = client.post("/api/v1/reports", json={
            "channel": "web", "description": "Đèn đường hẻm 12 Lê Lợi tắt cả tuần nay"})
        collect(settings.kafka_bootstrap, REPORTS_CLASSIFIED,
                until={warm.get_json()["report_id"]}, timeout=60)
        started = time.monotonic()
        resp = client.post("/api/v1/reports", json={
            "channel": "app",
            "description": "Karaoke nhà hàng xóm hát tới 2 giờ sáng, hẻm 45 Âu Cơ, Tân Bình"})
        report_id = resp.get_json()["report_id"]
        events = collect(settings.kafka_bootstrap, REPORTS_CLASSIFIED, until={report_id},
                         timeout=30)
        elapsed = time.monotonic() - started
    assert events and elapsed < 5.0, elapsed
    event = events[0]
    assert event["category"] == "noise" and event["district"] == "tan_binh"
    assert event["model_version"] == classifier.version


def test_poison_goes_to_dead_letters_and_worker_goes_on(settings, db, classifier):
    producer = make_producer(settings)
    marker = uuid.uuid4().hex
    good = submitted("Cây xanh gãy đổ chắn ngang đường Pasteur, quận 1")
    with running(new_worker(settings, classifier, db).run):
        producer.send(REPORTS_SUBMITTED, key=marker.encode(),
                      value=b"\x00not json " + marker.encode())
        producer.send(REPORTS_SUBMITTED, key=marker.encode(),
                      value=json.dumps({"event_type": "report.submitted", "schema_version": 1,
                                        "report_id": marker}).encode())
        producer.send(REPORTS_SUBMITTED, key=good.report_id.encode(), value=encode_event(good))
        producer.flush()
        classified = collect(settings.kafka_bootstrap, REPORTS_CLASSIFIED,
                             until={good.report_id}, timeout=60)
    producer.close()
    assert classified and classified[0]["category"] == "trees_lighting"
    from kafka import TopicPartition

    consumer = make_consumer(settings, group_id=None)
    consumer.assign([TopicPartition(REPORTS_SUBMITTED_DLQ, 0)])
    consumer.seek_to_beginning()
    dead = []
    deadline = time.monotonic() + 30
    while len(dead) < 2 and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            dead += [m for m in records if m.key == marker.encode()]
    consumer.close()
    assert len(dead) == 2
    assert all(dict(m.headers).get("error") for m in dead)


def test_killing_the_worker_mid_batch_loses_nothing(settings, env, model_path):
    events = [submitted(f"Rác thải sinh hoạt ùn ứ đầu hẻm {i} mấy ngày không ai thu gom")
              for i in range(300)]
    producer = make_producer(settings)
    for e in events:
        producer.send(REPORTS_SUBMITTED, key=e.report_id.encode(), value=encode_event(e))
    producer.flush()
    producer.close()
    worker_env = {**os.environ, **env, "CLASSIFIER_MODEL": str(model_path),
                  "LOG_LEVEL": "WARNING", "CLASSIFIER_BATCH_SIZE": "10"}
    first = subprocess.Popen([sys.executable, "-m", "services.classifier", "worker"],
                             cwd=REPO, env=worker_env)
    ids = {e.report_id for e in events}
    try:
        seen = collect(settings.kafka_bootstrap, REPORTS_CLASSIFIED, until={events[0].report_id},
                       timeout=60)
        assert seen
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    from shared.devstack import free_port, wait_for_port

    port = free_port()  # its metrics port opens once the worker runs: SIGTERM after that
    second = subprocess.Popen([sys.executable, "-m", "services.classifier", "worker"],
                              cwd=REPO, env={**worker_env, "WORKER_METRICS_PORT": str(port)})
    try:
        wait_for_port("127.0.0.1", port, 60)
        out = collect(settings.kafka_bootstrap, REPORTS_CLASSIFIED, until=ids, timeout=90)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert {e["report_id"] for e in out} == ids
    assert len(out) >= len(ids)  # a batch cut short by the kill may be classified twice
    assert second.returncode == 0


def test_classification_reaches_the_citizen_views(settings, db, classifier):
    """intake -> relay -> classifier worker -> projector: Open311 shows the chosen service,
    and no department: that is the tracker's to decide (not running here)."""
    from services.intake.projector import run_projector

    client = intake_app(settings).test_client()
    relay = OutboxRelay(settings=settings, db=db, clock=system_clock)
    projector = partial(run_projector, settings, db,
                        group_id=f"projector-{uuid.uuid4().hex[:6]}")
    with running(new_worker(settings, classifier, db).run, relay.run, projector):
        resp = client.post("/open311/v2/requests.json", data={
            "api_key": "demo", "address_string": "Hẻm 45 Âu Cơ, Tân Bình",
            "description": "Quán karaoke hát tới 2 giờ sáng, cả xóm không ngủ được"})
        code = resp.get_json()[0]["service_request_id"]

        def view() -> dict:
            return client.get(f"/open311/v2/requests/{code}.json").get_json()[0]

        wait_until(lambda: view()["service_code"] is not None, 30, 0.2)
        got = view()
    assert got["service_code"] == "noise"
    assert got["agency_responsible"] is None
    assert got["status"] == "open"


def test_worker_serves_metrics_on_its_own_port(env, model_path):
    import requests

    from shared.devstack import free_port, wait_for_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "services.classifier", "worker"], cwd=REPO,
                            env={**os.environ, **env, "CLASSIFIER_MODEL": str(model_path),
                                 "WORKER_METRICS_PORT": str(port)})
    try:
        wait_for_port("127.0.0.1", port, 60)
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert 'consumer_batch_seconds_count{consumer="classifier-worker"}' in text
    assert "consumer_dead_letters_total" in text and "classifier_reports_total" in text
    assert proc.returncode == 0
