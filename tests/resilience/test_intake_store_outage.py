"""Intake with its store paused or killed: bounded answers (503 + Retry-After, never 500 or a
hang), /readyz 503 within a second, and a retried key gives exactly one report."""

from __future__ import annotations

import signal
import time

import requests

from services.intake.store import REPORTS
from shared.settings import Settings
from tests.helpers import intake_app, live_server
from tests.intake.conftest import valid_report


def timed(call):
    started = time.monotonic()
    resp = call()
    return resp, time.monotonic() - started


def retry_refused(call, attempts: int = 10) -> requests.Response:
    """What a client does with a 503: wait Retry-After, send the same request again."""
    for _ in range(attempts):
        resp = call()
        if resp.status_code != 503:
            return resp
        time.sleep(float(resp.headers["Retry-After"]))
    return resp


def test_paused_store_gets_503_in_bounded_time_and_the_retry_makes_one_report(
        own_env, own_store):
    settings = Settings.from_env(own_env)
    app = intake_app(settings)
    body = valid_report(description="Nước ngập sâu đầu hẻm 45 sau cơn mưa chiều nay.")
    with live_server(app) as base:
        def post(key: str) -> requests.Response:
            return requests.post(f"{base}/api/v1/reports", json=body, timeout=30,
                                 headers={"Idempotency-Key": key})

        assert post("warm-up").status_code == 201
        own_store.proc.send_signal(signal.SIGSTOP)
        try:
            for key in ("k-1", "k-2", "k-1"):
                resp, took = timed(lambda k=key: post(k))
                assert resp.status_code == 503, resp.text
                assert resp.headers["Content-Type"] == "application/problem+json"
                assert int(resp.headers["Retry-After"]) >= 1
                assert took < 5.0, took
            ready, took = timed(lambda: requests.get(f"{base}/readyz", timeout=10))
            assert ready.status_code == 503 and took < 1.0, (ready.status_code, took)
        finally:
            own_store.proc.send_signal(signal.SIGCONT)
        first = retry_refused(lambda: post("k-1"))
        assert first.status_code in (200, 201), first.text
        again = post("k-1")
        assert again.json()["report_id"] == first.json()["report_id"]
        assert requests.get(f"{base}/readyz", timeout=10).status_code == 200

    client = app.extensions["intake"].client
    reports = client[settings.mongo_db][REPORTS]
    assert reports.count_documents({"idempotency_key": "k-1"}) == 1
    assert reports.count_documents({"idempotency_key": "k-2"}) <= 1


def test_killed_store_gets_503_then_everything_comes_back(own_env, own_store):
    settings = Settings.from_env(own_env)
    app = intake_app(settings)
    with live_server(app) as base:
        own_store.kill()
        resp, took = timed(lambda: requests.post(
            f"{base}/api/v1/reports", json=valid_report(), timeout=30,
            headers={"Idempotency-Key": "dead-1"}))
        assert resp.status_code == 503 and "Retry-After" in resp.headers and took < 5.0
        ready, took = timed(lambda: requests.get(f"{base}/readyz", timeout=10))
        assert ready.status_code == 503 and took < 1.5
        own_store.start()
        own_store.wait_ready()
        resp = retry_refused(lambda: requests.post(
            f"{base}/api/v1/reports", json=valid_report(), timeout=30,
            headers={"Idempotency-Key": "dead-1"}))
        assert resp.status_code == 201, resp.text
