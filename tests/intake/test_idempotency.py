"""Idempotency-Key: retries make one report; a reused key with another body is refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from services.intake.store import REPORTS
from tests.helpers import live_server
from tests.intake.conftest import valid_report


def test_hundred_retries_make_one_report(app, db):
    body = valid_report()
    with live_server(app) as base:
        def post(_: int) -> requests.Response:
            return requests.post(f"{base}/api/v1/reports", json=body,
                                 headers={"Idempotency-Key": "retry-me-1"}, timeout=30)

        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(pool.map(post, range(100)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["tracking_code"] for a in answers}) == 1
    assert len({a.json()["report_id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 99
    assert db[REPORTS].count_documents({}) == 1


def test_same_key_other_body_is_refused(client, db):
    first = client.post("/api/v1/reports", json=valid_report(), headers={"Idempotency-Key": "k"})
    assert first.status_code == 201
    other = client.post("/api/v1/reports",
                        json=valid_report(description="Một phản ánh hoàn toàn khác nội dung"),
                        headers={"Idempotency-Key": "k"})
    assert other.status_code == 422
    assert other.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert db[REPORTS].count_documents({}) == 1


def test_without_key_each_post_is_a_report(client, db):
    for _ in range(3):
        assert client.post("/api/v1/reports", json=valid_report()).status_code == 201
    assert db[REPORTS].count_documents({}) == 3
